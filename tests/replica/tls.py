"""HTTPS through the replica: `CONNECT host:443` answered 200, then TLS on that connection.

An http proxy carries https as a tunnel: Scrapy (with `https_proxy` set), urllib and curl send
`CONNECT heb.hebccw.cn:443`, and once the proxy says 200 they speak TLS to the origin through it.
The replica is that origin too: it answers 200, starts TLS on the same connection with a
self-signed certificate made at start for the portal's domains (Scrapy does not verify
certificates by default; urllib and curl must be told not to), and serves the requests of the
tunnel like any other, as https. A connection that does not begin with CONNECT is plain HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import protocol, ssl
from twisted.python.failure import Failure
from twisted.web import http

_MAX_CONNECT_HEAD = 8192  # a CONNECT request with a longer head is refused


def certificate_pem(domains: tuple[str, ...]) -> bytes:
    """A self-signed certificate for `domains` and their subdomains, with its key, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"replica of {domains[0]}")])
    now = datetime.now(UTC)
    names = [x509.DNSName(n) for domain in domains for n in (domain, f"*.{domain}")]
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM) + key_pem


def server_tls_options(domains: tuple[str, ...]) -> ssl.CertificateOptions:
    pair = ssl.PrivateCertificate.loadPEM(certificate_pem(domains))
    # ALPN names a protocol: a client that offers some (curl offers h2 and http/1.1) must find one
    # it shares, or the handshake fails
    return ssl.CertificateOptions(privateKey=pair.privateKey.original, certificate=pair.original,
                                  acceptableProtocols=[b"http/1.1"])


def connect_target(head: bytes) -> tuple[str, int] | None:
    """(host, port) of a `CONNECT host:port HTTP/1.x` request head, or None."""
    words = head.split(b"\r\n", 1)[0].split()
    if len(words) != 3 or words[0] != b"CONNECT" or not words[2].startswith(b"HTTP/1."):
        return None
    host, _, port = words[1].decode("latin-1").rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.lower().rstrip("."), int(port)


class TunnelingProtocol(protocol.Protocol):
    """Plain HTTP, or CONNECT then TLS, in front of the replica's HTTP channel."""

    transport: Any  # a TCP transport, which can start TLS (ITLSTransport)

    def __init__(self, factory: TunnelingFactory) -> None:
        self.factory = factory
        self.head = b""
        self.channel: http.HTTPChannel | None = None
        self.refused = False

    def dataReceived(self, data: bytes) -> None:
        if self.channel is not None:
            self.channel.dataReceived(data)
            return
        if self.refused:
            return
        self.head += data
        if not b"CONNECT ".startswith(self.head[:8]):
            self.open_channel().dataReceived(self.head)
        elif b"\r\n\r\n" in self.head:
            head, rest = self.head.split(b"\r\n\r\n", 1)
            self.tunnel(head, rest)
        elif len(self.head) > _MAX_CONNECT_HEAD:
            self.refuse(b"431 Request Header Fields Too Large")

    def tunnel(self, head: bytes, rest: bytes) -> None:
        target = connect_target(head)
        if target is None:
            self.refuse(b"400 Bad Request")
            return
        if not target[0].endswith(self.factory.domains):
            self.refuse(b"502 Bad Gateway")
            return
        self.transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.transport.startTLS(self.factory.tls_options)
        self.open_channel()
        if rest:  # TLS bytes sent before our answer: they belong to the new layer
            self.transport.protocol.dataReceived(rest)

    def refuse(self, status: bytes) -> None:
        self.refused = True
        self.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.transport.loseConnection()

    def open_channel(self) -> http.HTTPChannel:
        channel = self.factory.site.buildProtocol(self.transport.getPeer())
        channel.makeConnection(self.transport)
        self.channel = channel
        return channel

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self.channel is not None:
            self.channel.connectionLost(reason)


class TunnelingFactory(protocol.Factory):
    """Wraps the replica's `server.Site`: what it serves over http it also serves through CONNECT."""

    def __init__(self, site: Any, domains: tuple[str, ...]) -> None:
        self.site = site
        self.domains = domains
        self.tls_options = server_tls_options(domains)

    def buildProtocol(self, addr: Any) -> TunnelingProtocol:
        return TunnelingProtocol(self)

    def startFactory(self) -> None:
        self.site.doStart()

    def stopFactory(self) -> None:
        self.site.doStop()
