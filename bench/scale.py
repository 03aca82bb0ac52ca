"""A backfill that scales: full crawls (`-a full=1`) of replicas of growing size, one after the other.

    .venv/bin/python bench/scale.py [--scales 10000,30000,100000] [--trace FILE] [-s NAME=VALUE ...]

For each scale: the crawl's pages, wall time, peak memory (max RSS of the crawl process, the
replica's not counted) and its resident memory at 10%, 50% and 90% of the crawl, and the
throughput of the first and of the last tenth of the crawl (pages over the first and the last 10%
of responses by count, from the crawl's progress lines, per second of wall time and per CPU second
of the crawl process) with their ratios (target, per CPU second, which does not move with the
machine's other load: at least 0.8). Then, between consecutive scales, the growth of the peak against the duplicate
filter's share: Scrapy's RFPDupeFilter keeps one fingerprint per request for the whole crawl
(measured here, in bytes per fingerprint), the one thing that must grow with the archive (target:
the peak grows by at most that share, plus 2 MiB).

--trace FILE appends to FILE, every 20 s of the first scale's crawl, what the crawl holds (its
queue, its fingerprints, the walk's and the store's containers) and the object types that grew
most: for finding what grows (it slows the crawl a little).
--where-peak FILE appends to FILE each rise of the first crawl's high-water mark and what its
main thread was doing then: for finding what makes the peak, a moment that RSS samples miss.
--heap FILE appends to FILE, every 5 s of every crawl, its queue and where its resident memory is:
anonymous or file-backed, glibc's heap (in use, free), SQLite's, and pymalloc's arenas and the
bytes of live objects in them: for telling live memory from memory the allocators keep.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.replica.harness import REPLICA_CRAWL_SETTINGS, ReplicaServer, crawl_env, crawl_stats

# `scrapy ...` that reports its own peak RSS when it exits; with HEBEI_TRACE=FILE it also appends,
# every 20 s, what the crawl holds: the scheduler's queue, the duplicate filter's fingerprints, the
# walk's containers, the store's sets, and the object types whose count grew most since the first
# look (gc's view: containers and objects, not the strings they hold); with HEBEI_WHERE_PEAK=FILE,
# each time the high-water mark of its resident memory rises by a quarter of a MiB, the moment and
# what the main thread was doing (a thread that looks every 2 ms: it sees a moment that the
# progress lines, every half second, do not); with HEBEI_HEAP=FILE, every 5 s, the queue and the
# memory by allocator (glibc's mallinfo2, SQLite's sqlite3_memory_used, pymalloc's own statistics).
_MEASURED_SCRAPY = """\
import atexit, collections, gc, os, resource, sys, threading, time
atexit.register(lambda: sys.stderr.write('PEAK_RSS_KIB=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
def sizes(found):
    held = {}
    for obj in found:
        for name, value in vars(obj).items():
            if hasattr(value, '__len__') and not isinstance(value, (str, bytes)):
                try:
                    held[type(obj).__name__ + '.' + name] = len(value)
                except TypeError:
                    pass
    return held
def look():
    kinds, found = collections.Counter(), []
    for obj in gc.get_objects():
        kind = type(obj)
        kinds[kind.__name__] += 1
        if kind.__name__ in ('Scheduler', 'HebeiSpider', 'Walk', 'StorePipeline', 'ListedPagesDupeFilter'):
            found.append(obj)
    return kinds, sizes(found)
def watch(trace):
    time.sleep(30)
    first, _ = look()
    while True:
        time.sleep(20)
        kinds, held = look()
        grown = sorted(kinds, key=lambda kind: first[kind] - kinds[kind])[:10]
        with open(trace, 'a') as out:
            out.write('%.0f s: %s\\n  grown: %s\\n' % (time.monotonic(), held,
                      ', '.join('%s +%d' % (kind, kinds[kind] - first[kind]) for kind in grown)))
def snapshots(prefix):
    import tracemalloc
    tracemalloc.start(1)
    for n in range(1, 1000):
        time.sleep(60)
        tracemalloc.take_snapshot().dump('%s.%03d' % (prefix, n))
def where_peak(path):
    import traceback
    main, last = threading.main_thread().ident, 0
    with open(path, 'a') as out:
        while True:
            with open('/proc/self/status') as status:
                high = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))
            if high > last + 256:
                frame = sys._current_frames().get(main)
                out.write('%.2f s: high-water mark %.1f MiB (+%.1f)\\n%s\\n' % (time.monotonic(), high / 1024,
                          (high - last) / 1024, ''.join(traceback.format_stack(frame, limit=12)) if frame else ''))
                out.flush()
                last = high
            time.sleep(0.002)
def heap(path):
    import ctypes, re, tempfile, _sqlite3
    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
                                                        'fsmblks', 'uordblks', 'fordblks', 'keepcost')]
    libc, lite = ctypes.CDLL(None), ctypes.CDLL(_sqlite3.__file__)
    libc.mallinfo2.restype, libc.fopen.restype = Info, ctypes.c_void_p
    libc.fclose.argtypes = [ctypes.c_void_p]
    lite.sqlite3_memory_used.restype = lite.sqlite3_memory_highwater.restype = ctypes.c_int64
    stats = ctypes.pythonapi._PyObject_DebugMallocStats
    stats.argtypes = [ctypes.c_void_p]
    scratch = tempfile.mktemp()
    mib = lambda n: n / 2**20
    crawler = None
    with open(path, 'a') as out:
        out.write('crawl: pages, queued, downloading, scraping | memory (MiB): monotonic s, RSS, anonymous, file | glibc '
                  'malloc: heap, mmap, in use, free | SQLite: in use, highest | pymalloc: arenas, in live objects, free\\n')
        while True:
            with open('/proc/self/status') as status:
                kib = dict((line.split(':')[0], int(line.split()[1])) for line in status if line.startswith(('VmRSS', 'RssAnon', 'RssFile')))
            info = libc.mallinfo2()
            handle = libc.fopen(scratch.encode(), b'w')
            stats(handle)
            libc.fclose(handle)
            text = open(scratch).read().replace(',', '')
            field = lambda name: int(re.search(re.escape(name) + r'\\s*=\\s*(\\d+)', text).group(1))
            if crawler is None:
                crawler = next((obj for obj in gc.get_objects() if type(obj).__name__ == 'Crawler'), None)
            got = crawler.stats.get_value if crawler is not None and crawler.stats else (lambda key, default: default)
            engine = getattr(crawler, 'engine', None)
            slot = getattr(getattr(engine, 'scraper', None), 'slot', None)
            out.write('%d pages, queued %d, downloading %d, scraping %d (%.1f MiB) | ' % (
                got('downloader/response_count', 0), got('scheduler/enqueued', 0) - got('scheduler/dequeued', 0),
                len(engine.downloader.active) if engine else 0, len(slot.active) if slot else 0,
                slot.active_size / 2**20 if slot else 0))
            out.write('%.0f %.1f %.1f %.1f | %.1f %.1f %.1f %.1f | %.1f %.1f | %.1f %.1f %.1f\\n' % (
                time.monotonic(), kib['VmRSS'] / 1024, kib['RssAnon'] / 1024, kib['RssFile'] / 1024,
                mib(info.arena), mib(info.hblkhd), mib(info.uordblks), mib(info.fordblks),
                mib(lite.sqlite3_memory_used()), mib(lite.sqlite3_memory_highwater(0)),
                int(re.search(r'arenas \\* \\d+ bytes/arena\\s*=\\s*(\\d+)', text).group(1)) / 2**20, mib(field('# bytes in allocated blocks')),
                mib(field('# bytes in available blocks'))))
            out.flush()
            time.sleep(5)
if os.environ.get('HEBEI_HEAP'):
    threading.Thread(target=heap, args=(os.environ['HEBEI_HEAP'],), daemon=True).start()
if os.environ.get('HEBEI_WHERE_PEAK'):
    threading.Thread(target=where_peak, args=(os.environ['HEBEI_WHERE_PEAK'],), daemon=True).start()
if os.environ.get('HEBEI_TRACE'):
    threading.Thread(target=watch, args=(os.environ['HEBEI_TRACE'],), daemon=True).start()
if os.environ.get('HEBEI_TRACEMALLOC'):
    threading.Thread(target=snapshots, args=(os.environ['HEBEI_TRACEMALLOC'],), daemon=True).start()
from scrapy.cmdline import execute
sys.argv = ['scrapy'] + sys.argv[1:]
execute()
"""
_PAGES = re.compile(r"progress: (\d+) pages")
_STARTED = time.monotonic()
ALLOCATOR_MARGIN_MIB = 2  # RSS moves by a MiB or two between runs of one scale


def progress(message: str) -> None:
    """A progress line on stderr (stdout keeps the results), so that a long step is never silent."""
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


@dataclass
class Crawl:
    scale: int
    pages: int
    wall: float
    peak_mib: float
    queued_max: int  # the most requests the crawl's queue held at once (`scheduler/queued_max`)
    # (seconds since start, pages, RSS in MiB, CPU seconds of the crawl process), one per progress line
    samples: list[tuple[float, int, float, float]]

    def clock_at(self, pages: float, clock: int) -> float:
        """Where clock `clock` (0: wall, 3: CPU) stood when the crawl had fetched `pages` pages,
        interpolated between progress lines."""
        before = (0.0, 0, 0.0, 0.0)
        for sample in self.samples:
            if sample[1] >= pages:
                c0, p0, c1, p1 = before[clock], before[1], sample[clock], sample[1]
                return c0 + (c1 - c0) * (pages - p0) / (p1 - p0) if p1 > p0 else c1
            before = sample
        return self.samples[-1][clock]

    def tenth_rates(self, clock: int = 0) -> tuple[float, float]:
        """Pages per second (of wall time, or of the crawl's CPU time: `clock` 3) over the first and
        over the last tenth of the crawl's responses, the first counted from the first response
        (not from the start of the process)."""
        started = max((sample[clock] for sample in self.samples if sample[1] == 0), default=0.0)
        seen = self.samples[-1][1]  # by the last progress line: the final write after it is not fetching
        tenth = seen / 10
        first = tenth / (self.clock_at(tenth, clock) - started)
        last = tenth / (self.clock_at(seen, clock) - self.clock_at(seen - tenth, clock))
        return first, last

    def rss_at(self, share: float) -> float:
        return next(sample[2] for sample in self.samples if sample[1] >= share * self.pages)


def rss_mib(pid: int) -> float:
    """The resident memory of process `pid` now (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else 0.0


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process `pid` has used so far: a rate per CPU second does not
    move with what else the machine runs (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def full_crawl(scale: int, trace: str | None, settings: dict[str, str], snapshots: str | None = None,
               where_peak: str | None = None, heap: str | None = None) -> Crawl:
    """A full crawl of a replica of `scale` stories, its progress lines every half second, with
    `settings` over the replica's."""
    with ReplicaServer("--scale", str(scale)) as replica, tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-c", _MEASURED_SCRAPY, "crawl", "hebei", "-a", "full=1", "-s", f"OUTPUT_DIR={out}"]
        for key, value in {**REPLICA_CRAWL_SETTINGS, **settings, "PROGRESS_INTERVAL": "0.5"}.items():
            cmd += ["-s", f"{key}={value}"]
        env = crawl_env(replica.address) | ({"HEBEI_TRACE": trace} if trace else {})
        env |= {"HEBEI_TRACEMALLOC": snapshots} if snapshots else {}
        env |= {"HEBEI_WHERE_PEAK": where_peak} if where_peak else {}
        env |= {"HEBEI_HEAP": heap} if heap else {}
        started = time.monotonic()
        log: list[str] = []
        samples: list[tuple[float, int, float, float]] = []
        with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) as crawl:
            assert crawl.stderr is not None
            for line in crawl.stderr:
                log.append(line)
                if found := _PAGES.search(line):
                    samples.append((time.monotonic() - started, int(found.group(1)), rss_mib(crawl.pid),
                                    cpu_seconds(crawl.pid)))
                    if len(samples) % 120 == 0:
                        progress(f"scale {scale:,}: {samples[-1][1]:,} pages, {samples[-1][2]:.0f} MiB, "
                                 f"{samples[-1][3]:.0f} CPU s")
        wall = time.monotonic() - started
        stderr = "".join(log)
        if crawl.returncode != 0:
            raise subprocess.CalledProcessError(crawl.returncode, cmd, stderr=stderr[-5000:])
    stats = crawl_stats(stderr)
    peak = int(re.search(r"PEAK_RSS_KIB=(\d+)", stderr).group(1))  # type: ignore[union-attr]
    return Crawl(scale, stats["downloader/response_count"], wall, peak / 1024, stats.get("scheduler/queued_max", 0),
                 samples)


def fingerprint_bytes(count: int = 200_000) -> float:
    """Bytes per request that Scrapy's RFPDupeFilter holds (one fingerprint per request, in a set),
    measured on the filter itself: requests to distinct article URLs, each gone once seen."""
    from scrapy import Request
    from scrapy.dupefilters import RFPDupeFilter
    from scrapy.utils.request import RequestFingerprinter

    seen = RFPDupeFilter(fingerprinter=RequestFingerprinter())
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for n in range(count):
        assert not seen.request_seen(Request(f"http://heb.hebei.com.cn/system/2018/07/17/{n:09d}.shtml"))
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (size - before) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="10000,30000", help="stories per replica, comma-separated")
    parser.add_argument("--trace", metavar="FILE", help="what the first crawl holds, every 20 s, appended to FILE")
    parser.add_argument("--tracemalloc", metavar="PREFIX",
                        help="a tracemalloc snapshot (one frame) of the first crawl every 60 s, to PREFIX.NNN")
    parser.add_argument("--where-peak", metavar="FILE",
                        help="each rise of the first crawl's high-water mark (resident memory) and the main "
                             "thread's stack at that moment, appended to FILE: for finding what makes the peak")
    parser.add_argument("--heap", metavar="FILE",
                        help="every 5 s of every crawl, its queue and its memory by allocator, appended to FILE")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of every crawl, e.g. -s STORE_WRITE_SECONDS=60")
    args = parser.parse_args()
    scales = [int(scale) for scale in args.scales.split(",")]
    settings = dict(setting.split("=", 1) for setting in args.set)

    per_fingerprint = fingerprint_bytes()
    print("rates: pages per second of wall time (moves with the machine's other load) and per CPU second "
          "of the crawl process")
    print(f"{'stories':>8} {'pages':>8} {'wall s':>7} {'peak MiB':>9} {'RSS 10/50/90% MiB':>18} "
          f"{'first/last 10% p/s':>18} {'ratio':>6} {'per CPU s':>10} {'ratio':>6} {'queue max':>9}", flush=True)
    crawls: list[Crawl] = []
    for scale in scales:  # a row as each crawl ends: a long run shows what it has
        progress(f"a full crawl of a {scale:,}-story replica")
        crawl = full_crawl(scale, args.trace if not crawls else None, settings,
                           args.tracemalloc if not crawls else None, args.where_peak if not crawls else None, args.heap)
        crawls.append(crawl)
        (first, last), (first_cpu, last_cpu) = crawl.tenth_rates(), crawl.tenth_rates(clock=3)
        at = "/".join(f"{crawl.rss_at(share):.0f}" for share in (0.1, 0.5, 0.9))
        print(f"{crawl.scale:>8} {crawl.pages:>8} {crawl.wall:>7.0f} {crawl.peak_mib:>9.0f} {at:>18} "
              f"{f'{first:.0f}/{last:.0f}':>18} {last / first:>6.2f} {f'{first_cpu:.0f}/{last_cpu:.0f}':>10} "
              f"{last_cpu / first_cpu:>6.2f} {crawl.queued_max:>9}", flush=True)
    print(f"dupefilter: {per_fingerprint:.0f} bytes per request (RFPDupeFilter's fingerprints, measured)")
    bounded = True
    for small, large in itertools.pairwise(crawls):
        share = (large.pages - small.pages) * per_fingerprint / 2**20
        growth = large.peak_mib - small.peak_mib
        bounded &= growth <= share + ALLOCATOR_MARGIN_MIB
        more = large.pages - small.pages
        print(f"{small.scale} -> {large.scale} stories: peak +{growth:.0f} MiB ({growth * 2**20 / more:.0f} bytes "
              f"per request), the dupefilter's share +{share:.0f} MiB ({more:,} more requests)")
    ratios = [last / first for first, last in (crawl.tenth_rates(clock=3) for crawl in crawls)]
    print(f"targets: last tenth >= 0.8x the first (per CPU second): {'met' if min(ratios) >= 0.8 else 'NOT met'} "
          f"(lowest {min(ratios):.2f}); peak growth within the dupefilter's share: "
          f"{'met' if bounded else 'NOT met'}{'' if len(crawls) > 1 else ' (one scale: not judged)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
