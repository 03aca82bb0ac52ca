"""Where an alert goes: `OUTPUT_DIR/alerts/<run_id>.json`, then `ALERT_COMMAND` and `ALERT_WEBHOOK`.

The file is written first: a command or a webhook that fails is logged, never lost silently, and
the file is still there for the morning after. The command is a shell command line that reads
the alert JSON on stdin (`ALERT_FILE` in its environment names the file); the webhook gets the
same JSON in a POST. Neither goes through the crawl's HTTP proxy.

On a full disk (or any other reason the file cannot be written) the alert is a few hundred bytes
kept in memory: the failure is logged, one plain line goes to stderr (the log itself may be a file
on that disk), and the command and the webhook still get the alert.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from crawler.output import OutputDir
from pipelines.files import write_atomically

COMMAND_TIMEOUT = 60.0
WEBHOOK_TIMEOUT = 10.0

logger = logging.getLogger(__name__)


def deliver(alert: dict[str, Any], output: OutputDir, command: str = "", webhook: str = "") -> Path | None:
    """Write the alert file, then call the command and the webhook; returns the file (None when
    it could not be written)."""
    path = output.alert(alert["run_id"])
    payload = json.dumps(alert, ensure_ascii=False, indent=2) + "\n"
    written: Path | None = path
    try:
        write_atomically(path, payload)
    except OSError as error:
        failed = ", ".join(check["name"] for check in alert["failed"])
        logger.error("could not write the alert file %s: %s", path, error)
        print(f"hebei-crawler: run {alert['run_id']} failed checks ({failed}) but its alert file {path} "
              f"could not be written: {error}", file=sys.stderr, flush=True)
        written = None
    if command:
        run_command(command, payload, written)
    if webhook:
        post_webhook(webhook, payload)
    return written


def run_command(command: str, payload: str, path: Path | None) -> None:
    env = {**os.environ, "ALERT_FILE": str(path)} if path is not None else dict(os.environ)
    try:
        done = subprocess.run(command, shell=True, check=False, input=payload.encode("utf-8"), capture_output=True,
                              timeout=COMMAND_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        logger.error("ALERT_COMMAND did not finish in %.0f s: %s", COMMAND_TIMEOUT, command)
        return
    except OSError as error:  # no shell could be started (out of memory, out of processes)
        logger.error("ALERT_COMMAND could not be started: %s", error)
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
