"""A replica of 长城网 (hebei.com.cn) served on loopback; see docs/replica.md."""
