"""The project deploys to scrapyd as it is: a real scrapyd on loopback, `scrapyd-deploy` from a copy
of the work tree, a crawl of the replica scheduled through schedule.json and watched in
listjobs.json, its stories in OUTPUT_DIR."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.replica.harness import (
    REPLICA_CRAWL_SETTINGS,
    REPO,
    crawl_env,
    direct_env,
    free_port,
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

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        with NO_PROXY.open(f"{self.url}{endpoint}?{urllib.parse.urlencode(params)}", timeout=10) as response:
            return json.loads(response.read())

    def post(self, endpoint: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        data = urllib.parse.urlencode(fields).encode()
        with NO_PROXY.open(f"{self.url}{endpoint}", data=data, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture
def scrapyd(replica_300: str, tmp_path: Path) -> Iterator[Scrapyd]:
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = free_port()
    (home / "scrapyd.conf").write_text(f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\n"
                                       "poll_interval = 0.5\n", encoding="utf-8")
    # scrapyd runs each crawl as its child: the replica reaches it as the proxy of scrapyd's own
    # environment, as the live site would need none
    log = (home / "scrapyd.log").open("wb")
    process = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, env=crawl_env(replica_300), stdout=log, stderr=subprocess.STDOUT)
    daemon = Scrapyd(f"http://127.0.0.1:{port}/", home, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            assert daemon.get("daemonstatus.json")["status"] == "ok"
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, (home / "scrapyd.log").read_text()
            time.sleep(0.2)
    yield daemon
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


def test_deploy_to_scrapyd_and_crawl_the_replica_through_schedule_json(scrapyd: Scrapyd, tmp_path: Path):
    project = work_tree_copy(tmp_path / "project")
    with (project / "scrapy.cfg").open("a", encoding="utf-8") as cfg:
        cfg.write(f"\n[deploy:test]\nurl = {scrapyd.url}\nproject = crawler\n")
    deployed = subprocess.run([str(BIN / "scrapyd-deploy"), "test", "-v", "r1"], cwd=project, capture_output=True,
                              text=True, timeout=120, check=False,
                              env=direct_env())
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert scrapyd.get("listversions.json", project="crawler")["versions"] == ["r1"]

    with zipfile.ZipFile(scrapyd.home / "eggs" / "crawler" / "r1.egg") as egg:
        names = set(egg.namelist())
        entry_points = egg.read("EGG-INFO/entry_points.txt").decode()
    assert {"crawler/settings.py", "crawler/spiders/channel.py", "pipelines/store.py",
            "pipelines/article.schema.json"} <= names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    assert "[scrapy]\nsettings = crawler.settings" in entry_points

    spiders = scrapyd.get("listspiders.json", project="crawler")["spiders"]
    assert {"hebei", "heb_qjhb", "channel"} <= set(spiders)

    output = tmp_path / "output"
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
