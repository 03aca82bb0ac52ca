"""The project deploys to scrapyd as it is: a real scrapyd on loopback, started from a copy of the
work tree as docs/operations.md says (its scrapyd.conf, credentials required), `scrapyd-deploy` as
documented (the repository's scrapy.cfg, credentials in ~/.netrc), a crawl of the replica scheduled
through schedule.json and watched in listjobs.json, its stories in OUTPUT_DIR."""

from __future__ import annotations

import base64
import configparser
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.replica.harness import (
    REPLICA_CRAWL_SETTINGS,
    REPO,
    crawl_env,
    direct_env,
    read_stories,
)

pytestmark = pytest.mark.integration

pytest.importorskip("scrapyd", reason="scrapyd is not installed (pip install scrapyd scrapyd-client)")
BIN = Path(sys.executable).parent
if not (BIN / "scrapyd-deploy").exists():
    pytest.skip("scrapyd-deploy is not installed (pip install scrapyd-client)", allow_module_level=True)

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Scrapyd:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    auth: tuple[str, str] | None = None  # username, password

    def request(self, url: str, data: bytes | None = None) -> urllib.request.Request:
        request = urllib.request.Request(url, data=data)
        if self.auth:
            request.add_header("Authorization", "Basic " + base64.b64encode(":".join(self.auth).encode()).decode())
        return request

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        with NO_PROXY.open(self.request(f"{self.url}{endpoint}?{urllib.parse.urlencode(params)}"), timeout=10) as response:
            return json.loads(response.read())

    def post(self, endpoint: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        data = urllib.parse.urlencode(fields).encode()
        with NO_PROXY.open(self.request(f"{self.url}{endpoint}", data), timeout=10) as response:
            return json.loads(response.read())


def wait_until_serving(daemon: Scrapyd, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            assert daemon.get("daemonstatus.json")["status"] == "ok"
            return
        except OSError:
            assert daemon.process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


# Given as an operator gives them: to scrapyd in its environment (crawler/ops/scrapyd_guard.py),
# to scrapyd-deploy in ~/.netrc (scrapy.cfg says so).
CREDENTIALS = ("hebei", "test-only-password")


def deploy_url(project: Path) -> str:
    """Where `scrapyd-deploy` deploys: the [deploy] url of the project's scrapy.cfg."""
    cfg = configparser.ConfigParser()
    cfg.read(project / "scrapy.cfg", encoding="utf-8")
    return cfg["deploy"]["url"]


@pytest.fixture
def operator_home(tmp_path: Path) -> Path:
    """The operator's home: ~/.netrc holding scrapyd's credentials for scrapyd-deploy, and a
    ~/.scrapyd.conf that only polls faster than scrapyd's 5 s, for the test's time."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {CREDENTIALS[0]} password {CREDENTIALS[1]}\n", encoding="utf-8")
    netrc.chmod(0o600)
    (home / ".scrapyd.conf").write_text("[scrapyd]\npoll_interval = 0.5\n", encoding="utf-8")
    return home


@pytest.fixture
def documented_scrapyd(replica_300: str, tmp_path: Path, operator_home: Path) -> Iterator[Scrapyd]:
    """scrapyd as docs/operations.md starts it: from the clone's root, so that it reads the
    repository's scrapyd.conf (credentials required, 127.0.0.1:6800), its credentials in its
    environment; listening where scrapy.cfg deploys."""
    project = work_tree_copy(tmp_path / "project")
    address = urllib.parse.urlsplit(deploy_url(project))
    with socket.socket() as probe:
        if probe.connect_ex((address.hostname, address.port)) == 0:
            pytest.skip(f"{address.netloc} is taken (a scrapyd of this machine?): the documented deploy goes there")
    # scrapyd runs each crawl as its child: the replica reaches it as the proxy of scrapyd's own
    # environment, as the live site would need none
    env = {**crawl_env(replica_300), "HOME": str(operator_home),
           "SCRAPYD_USERNAME": CREDENTIALS[0], "SCRAPYD_PASSWORD": CREDENTIALS[1]}
    log_path = tmp_path / "scrapyd.log"
    log = log_path.open("wb")
    process = subprocess.Popen([str(BIN / "scrapyd")], cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    daemon = Scrapyd(deploy_url(project), project, process, CREDENTIALS)
    try:
        wait_until_serving(daemon, log_path)
        yield daemon
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def work_tree_copy(target: Path) -> Path:
    """The files of the work tree as a clone has them (tracked, and new ones not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and not name.startswith("output/"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_deploy_to_scrapyd_and_crawl_the_replica_through_schedule_json(documented_scrapyd: Scrapyd,
                                                                       operator_home: Path):
    scrapyd = documented_scrapyd
    project = scrapyd.home  # the clone scrapyd runs from is the one deployed from
    # the documented command, unchanged: the repository's scrapy.cfg says where, ~/.netrc who
    deployed = subprocess.run([str(BIN / "scrapyd-deploy")], cwd=project, capture_output=True, text=True, timeout=120,
                              check=False, env={**direct_env(), "HOME": str(operator_home)})
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    [version] = scrapyd.get("listversions.json", project="crawler")["versions"]

    with zipfile.ZipFile(scrapyd.home / "eggs" / "crawler" / f"{version}.egg") as egg:
        names = set(egg.namelist())
        entry_points = egg.read("EGG-INFO/entry_points.txt").decode()
    assert {"crawler/settings.py", "crawler/spiders/channel.py", "pipelines/store.py",
            "pipelines/article.schema.json"} <= names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    assert "[scrapy]\nsettings = crawler.settings" in entry_points

    spiders = scrapyd.get("listspiders.json", project="crawler")["spiders"]
    assert {"hebei", "heb_qjhb", "channel"} <= set(spiders)

    output = scrapyd.home / "output"  # under SCRAPYD_OUTPUT_ROOT, scrapyd's working directory's output/
    settings = {**REPLICA_CRAWL_SETTINGS, "OUTPUT_DIR": str(output)}
    job = scrapyd.post("schedule.json", [("project", "crawler"), ("spider", "heb_qjhb"), ("full", "1"),
                                         *(("setting", f"{k}={v}") for k, v in settings.items())])
    assert job["status"] == "ok", job
    deadline = time.monotonic() + 120
    while not any(j["id"] == job["jobid"] for j in scrapyd.get("listjobs.json", project="crawler")["finished"]):
        assert time.monotonic() < deadline, "the job did not finish in 2 minutes"
        time.sleep(0.5)

    log = (scrapyd.home / "logs" / "crawler" / "heb_qjhb" / f"{job['jobid']}.log").read_text(encoding="utf-8")
    assert "Spider closed (finished)" in log, log[-3000:]
    assert len(read_stories(output)) == 33
    [manifest] = [json.loads(p.read_text()) for p in (output / "runs").glob("*.json")]
    assert manifest["finish_reason"] == "finished" and manifest["counts"]["stories_new"] == 33
    [checks] = [json.loads(p.read_text()) for p in (output / "checks").glob("*.json")]
    assert checks["failed"] == 0  # the monitor ran inside scrapyd's crawl too


# ---------------------------------------------------------------- scrapyd, safely (crawler/ops/scrapyd_guard.py)

def status_of(scrapyd: Scrapyd, endpoint: str, data: bytes | None = None, auth: tuple[str, str] | None = None) -> int:
    request = Scrapyd(scrapyd.url, scrapyd.home, scrapyd.process, auth).request(f"{scrapyd.url}{endpoint}", data)
    try:
        with NO_PROXY.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_shipped_scrapyd_conf_serves_no_one_without_credentials(documented_scrapyd: Scrapyd, operator_home: Path,
                                                                    tmp_path: Path):
    # started as documented but without credentials, scrapyd does not start at all
    bare = work_tree_copy(tmp_path / "bare")
    env = {name: value for name, value in direct_env().items() if not name.startswith("SCRAPYD_")}
    done = subprocess.run([str(BIN / "scrapyd")], cwd=bare, env={**env, "HOME": str(operator_home)},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "scrapyd not started: no username and password" in done.stdout + done.stderr
    # with them, nothing answers a request without them: the web pages, the API, deploying code
    schedule = urllib.parse.urlencode({"project": "crawler", "spider": "hebei",
                                       "setting": "ALERT_COMMAND=id > /tmp/pwned"}).encode()
    for endpoint, data in [("daemonstatus.json", None), ("schedule.json", schedule),
                           ("addversion.json", b"project=crawler&version=evil"), ("", None)]:
        assert status_of(documented_scrapyd, endpoint, data) == 401, endpoint
        assert status_of(documented_scrapyd, endpoint, data, (CREDENTIALS[0], "wrong")) == 401, endpoint
    assert status_of(documented_scrapyd, "daemonstatus.json", auth=CREDENTIALS) == 200


def deploy(scrapyd: Scrapyd, operator_home: Path) -> None:
    deployed = subprocess.run([str(BIN / "scrapyd-deploy")], cwd=scrapyd.home, capture_output=True, text=True,
                              timeout=120, check=False, env={**direct_env(), "HOME": str(operator_home)})
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr


def schedule(scrapyd: Scrapyd, spider: str, arguments: list[tuple[str, str]], settings: dict[str, str]) -> str:
    """Schedule a job; its id."""
    job = scrapyd.post("schedule.json", [("project", "crawler"), ("spider", spider), *arguments,
                                         *(("setting", f"{k}={v}") for k, v in settings.items())])
    assert job["status"] == "ok", job
    return str(job["jobid"])


def log_when_ended(scrapyd: Scrapyd, spider: str, job: str) -> str:
    """Wait for a job to end; its log."""
    deadline = time.monotonic() + 120
    while not any(j["id"] == job for j in scrapyd.get("listjobs.json", project="crawler")["finished"]):
        assert time.monotonic() < deadline, "the job did not end in 2 minutes"
        time.sleep(0.5)
    return (scrapyd.home / "logs" / "crawler" / spider / f"{job}.log").read_text(encoding="utf-8")


def run_job(scrapyd: Scrapyd, spider: str, arguments: list[tuple[str, str]], settings: dict[str, str]) -> str:
    """Schedule a job, wait for it to end; its log."""
    return log_when_ended(scrapyd, spider, schedule(scrapyd, spider, arguments, settings))


def test_a_job_may_not_run_commands_send_data_out_or_write_outside_its_root(
        documented_scrapyd: Scrapyd, operator_home: Path, tmp_path: Path):
    scrapyd = documented_scrapyd
    deploy(scrapyd, operator_home)
    output = scrapyd.home / "output" / "job"  # inside SCRAPYD_OUTPUT_ROOT: may be chosen
    marker = tmp_path / "the-command-ran"
    dangerous = {"ALERT_COMMAND": f"touch {marker}", "ALERT_WEBHOOK": "http://127.0.0.1:9/",
                 "STATE_BACKEND": "redis", "STATE_REDIS_URL": "redis://127.0.0.1:9/0"}
    # one page, so that the run fails its checks and would alert
    settings = {**REPLICA_CRAWL_SETTINGS, "OUTPUT_DIR": str(output), "CLOSESPIDER_PAGECOUNT": "1"}
    log = run_job(scrapyd, "heb_qjhb", [("full", "1")], {**settings, **dangerous})
    assert "scrapyd job refused, nothing crawled: settings a job may not set: " \
           "ALERT_COMMAND, ALERT_WEBHOOK, STATE_BACKEND, STATE_REDIS_URL" in log, log[-3000:]
    outside = run_job(scrapyd, "heb_qjhb", [("full", "1")], {**settings, "OUTPUT_DIR": str(tmp_path / "elsewhere")})
    assert "is outside SCRAPYD_OUTPUT_ROOT" in outside, outside[-3000:]
    argument = run_job(scrapyd, "channel", [("start_url", "http://heb.hebei.com.cn/qjhb/"), ("walk", "x")],
                       settings)
    assert "arguments the spider does not take: walk" in argument, argument[-3000:]
    assert "Spider opened" not in log + outside + argument  # nothing crawled
    assert not marker.exists() and not output.exists() and not (tmp_path / "elsewhere").exists()


def test_scrapyd_jobs_are_workers_of_one_crawl_when_the_deployment_names_the_shared_redis(
        documented_scrapyd: Scrapyd, operator_home: Path, redis_url: str):
    scrapyd = documented_scrapyd
    # docs/distributed.md: the deployment carries the state's Redis (a scrapyd job may not point it
    # anywhere); a job chooses only to be a worker, and of which crawl
    settings_file = scrapyd.home / "crawler" / "settings.py"
    settings_file.write_text(settings_file.read_text(encoding="utf-8")
                             + f'\nSTATE_BACKEND = "redis"\nSTATE_REDIS_URL = "{redis_url}"\n', encoding="utf-8")
    deploy(scrapyd, operator_home)
    output = scrapyd.home / "output" / "backfill"
    settings = {**REPLICA_CRAWL_SETTINGS, "OUTPUT_DIR": str(output), "FRONTIER": "redis", "FRONTIER_JOB": "backfill"}
    jobs = [schedule(scrapyd, "heb_qjhb", [("full", "1")], settings) for _ in range(2)]
    logs = [log_when_ended(scrapyd, "heb_qjhb", job) for job in jobs]
    for log in logs:
        assert "joined job backfill" in log and "Spider closed (finished)" in log, log[-3000:]
    stories = read_stories(output)
    assert len(stories) == 33 and len({story["id"] for story in stories}) == 33  # each story once
    assert not any(redis.Redis.from_url(redis_url).scan_iter(match="hebei:job:backfill:*"))  # the job ended
