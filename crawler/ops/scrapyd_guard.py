"""scrapyd, safely (docs/operations.md, "scrapyd"): the daemon serves only with credentials, and a
job may choose only what an operator would let any caller choose.

scrapyd 1.6 authenticates nobody unless both `username` and `password` are set, and whoever
reaches it deploys code (`addversion.json`) and starts jobs with any setting (`schedule.json -d
setting=NAME=VALUE`): ALERT_COMMAND is a shell command line, ALERT_WEBHOOK and STATE_REDIS_URL send
data where they point, a class path in a setting is code to load. So:

- `application`, which the repository's scrapyd.conf names, refuses to start scrapyd without
  credentials (SCRAPYD_USERNAME and SCRAPYD_PASSWORD, or `username` and `password` in a
  configuration file the operator creates);
- `job_refusal`, asked by this project's `scrapy crawl` before anything runs, refuses a job that
  scrapyd started (its runner is the main module) when it sets a setting outside
  `SCRAPYD_JOB_SETTINGS`, an OUTPUT_DIR outside `SCRAPYD_OUTPUT_ROOT`, or a spider argument the
  spider does not take.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.site.urls import PORTAL_DOMAINS

SCRAPYD_RUNNER = "scrapyd.runner"
# Settings scrapyd passes to every job itself when its option is set (overriding a job's value).
SCRAPYD_OWN_SETTINGS = {"LOG_FILE": "logs_dir", "FEEDS": "items_dir", "JOBDIR": "jobs_dir"}
# Spider arguments scrapyd adds to every job: its id, and the egg version asked for.
SCRAPYD_ARGUMENTS = frozenset({"_job", "_version"})


def application(config: Any) -> Any:
    """scrapyd's own application, once credentials are set (as scrapyd reads them)."""
    username = os.getenv("SCRAPYD_USERNAME") or config.get("username", "")
    password = os.getenv("SCRAPYD_PASSWORD") or config.get("password", "")
    if not (username and password):
        raise SystemExit(
            "scrapyd not started: no username and password. Set SCRAPYD_USERNAME and SCRAPYD_PASSWORD, "
            "or username and password under [scrapyd] in /etc/scrapyd/conf.d/credentials or ~/.scrapyd.conf "
            "(docs/operations.md): without them anyone who reaches scrapyd deploys and runs code")
    from scrapyd.app import application as scrapyd_application

    return scrapyd_application(config)


def under_scrapyd() -> bool:
    """Whether this process is a job scrapyd started (`python -m scrapyd.runner crawl ...`)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec is not None and spec.name == SCRAPYD_RUNNER


def scrapyd_own_settings() -> set[str]:
    """The settings scrapyd sets itself for this job, by its configuration (read as it reads it)."""
    from scrapyd.config import Config

    config = Config()
    return {name for name, option in SCRAPYD_OWN_SETTINGS.items() if config.get(option, "")}


def spider_parameters(spidercls: type) -> set[str]:
    """The named arguments a spider's constructor takes (`-a NAME=VALUE`)."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in inspect.signature(spidercls).parameters.values() if p.kind in named}


def job_refusal(settings: BaseSettings, arguments: dict[str, str], spidercls: type) -> str | None:
    """Why a scrapyd job may not run with these settings (those at command-line priority are the
    job's) and spider arguments; None when it may."""
    cmdline = SETTINGS_PRIORITIES["cmdline"]
    allowed = set(settings.getlist("SCRAPYD_JOB_SETTINGS")) | scrapyd_own_settings()
    problems = []
    refused = sorted(name for name in settings if (settings.getpriority(name) or 0) >= cmdline and name not in allowed)
    if "PORTAL_DOMAINS" in refused and set(settings.getlist("PORTAL_DOMAINS")) <= set(PORTAL_DOMAINS):
        refused.remove("PORTAL_DOMAINS")  # narrowing the portal (one family alone) is safe; widening it is not
    if refused:
        problems.append(f"settings a job may not set: {', '.join(refused)} (SCRAPYD_JOB_SETTINGS lists those it may)")
    unknown = sorted(set(arguments) - spider_parameters(spidercls) - SCRAPYD_ARGUMENTS)
    if unknown:
        problems.append(f"arguments the spider does not take: {', '.join(unknown)}")
    if (settings.getpriority("OUTPUT_DIR") or 0) >= cmdline:
        root = Path(settings["SCRAPYD_OUTPUT_ROOT"]).resolve()
        output = Path(settings["OUTPUT_DIR"]).resolve()
        if not output.is_relative_to(root):
            problems.append(f"OUTPUT_DIR {output} is outside SCRAPYD_OUTPUT_ROOT {root}")
    return "; ".join(problems) or None
