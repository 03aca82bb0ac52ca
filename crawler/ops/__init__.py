"""Operations around the crawl: channel locks, progress, the end-of-run monitor and its alerts,
the crawl plan and its runner, timers, the run report. Nothing on the crawl path imports this
package; its extensions are switched on in `crawler/settings.py` EXTENSIONS."""
