"""The project's own signals (Scrapy's are in `scrapy.signals`): how the frontier of a job
(crawler/distributed/) and the store (pipelines/store.py) tell each other when copies are safe."""

# Sent by whoever needs the gathered copies in the state now (a worker of a job about to go idle):
# the store records its batch at once. No arguments.
record_copies = object()
# Sent by the store after each batch of copies it recorded (also an empty one): every copy that had
# passed the pipelines before it was sent is in the state (or counted as failed). No arguments.
copies_recorded = object()
# Sent by the last worker of a job that is done (crawler/distributed/scheduler.py), at its
# scheduler's close (after its pipelines closed, before `spider_closed`), while the job's keys
# still exist: `job` is the crawler.distributed.job.Job. Handlers do the job's last steps.
job_done = object()
