"""Where an alert goes: `OUTPUT_DIR/alerts/<run_id>.json`, then `ALERT_COMMAND` and `ALERT_WEBHOOK`.

The file is written first and always: a command or a webhook that fails is logged, never lost
silently, and the file is still there for the morning after. The command is a shell command line
that reads the alert JSON on stdin (`ALERT_FILE` in its environment names the file); the webhook
gets the same JSON in a POST. Neither goes through the crawl's HTTP proxy.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from crawler.output import OutputDir
from pipelines.files import write_atomically

COMMAND_TIMEOUT = 60.0
WEBHOOK_TIMEOUT = 10.0

logger = logging.getLogger(__name__)


def deliver(alert: dict[str, Any], output: OutputDir, command: str = "", webhook: str = "") -> Path:
    """Write the alert file, then call the command and the webhook; returns the file."""
    path = output.alert(alert["run_id"])
    payload = json.dumps(alert, ensure_ascii=False, indent=2) + "\n"
    write_atomically(path, payload)
    if command:
        run_command(command, payload, path)
    if webhook:
        post_webhook(webhook, payload)
    return path


def run_command(command: str, payload: str, path: Path) -> None:
    try:
        done = subprocess.run(command, shell=True, check=False, input=payload.encode("utf-8"), capture_output=True,
                              timeout=COMMAND_TIMEOUT, env={**os.environ, "ALERT_FILE": str(path)})
    except subprocess.TimeoutExpired:
        logger.error("ALERT_COMMAND did not finish in %.0f s: %s", COMMAND_TIMEOUT, command)
        return
    if done.returncode != 0:
        logger.error("ALERT_COMMAND exited with status %d: %s", done.returncode,
                     done.stderr.decode("utf-8", "replace").strip()[-500:])


def post_webhook(url: str, payload: str) -> None:
    # No proxy: a crawl runs with http_proxy set for the site, not for our own services.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=payload.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read()
    except (urllib.error.URLError, OSError) as error:
        logger.error("ALERT_WEBHOOK %s failed: %s", url, error)
