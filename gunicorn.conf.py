"""gunicorn's settings for the portal, in one place: `make run` and the README's
production command both serve with `gunicorn -c gunicorn.conf.py`; their command lines
add only where to listen and how many workers.

Workers are replaced after a number of requests, which keeps WeasyPrint's memory in
check. Replacing one must never leave the portal without a worker that answers: with
two workers that each took seconds to leave and seconds to start, both were away at
once and a request waited 18 s (docs/perf.md, 2026-12-02)."""
import os
import sys

wsgi_app = "app:create_app()"

# The app is imported once, in the master, and every worker is forked from it: a new
# worker answers within milliseconds instead of spending seconds importing Flask,
# peewee and WeasyPrint. create_app opens no database or queue connection, so none is
# shared across the fork (tests/test_serving.py keeps it so).
preload_app = True

# Each worker draws its own limit between max_requests and 1.5 × max_requests: two
# workers sharing the load evenly reach theirs far apart, not within a second or two.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "500"))
max_requests_jitter = max_requests // 2


def worker_exit(server, worker):
    """A worker that served its share leaves at once. Python's orderly shutdown would
    free every object of the app one by one, copying the pages shared with the master:
    about a second of CPU under load, while that worker answers nobody and slows the
    one that does. Nothing is lost: responses are sent, the database needs no goodbye."""
    if worker.nr >= worker.max_requests:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
