"""gunicorn in front of minimal_asgi: gunicorn manages the processes, uvicorn's
worker runs the app in each (docs/29-deployment.md, "Production servers")::

    gunicorn -c deploy/gunicorn.conf.py examples.todo.app:app

Every value can be set from the environment, twelve-factor style. Signals:
TERM (or INT) drains and stops - requests in flight finish, up to
``graceful_timeout``; HUP starts new workers with the code on disk and then
drains the old ones (a reload without a refused connection); TTIN/TTOU add
or remove a worker.
"""

from __future__ import annotations

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")

# Async workers: each serves many requests at once, so one per core is the
# start (not gunicorn's "2 x cores + 1", which is for one-request-at-a-time
# sync workers). Measure, then adjust: see the chapter.
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
worker_class = "uvicorn_worker.UvicornWorker"

# A worker whose event loop does not come back for `timeout` seconds (a
# blocking call on the loop) is killed and replaced.
timeout = int(os.environ.get("WORKER_TIMEOUT", "30"))
# TERM or HUP: how long requests in flight may take to finish.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
# Longer than nginx's upstream keepalive_timeout (60 s in deploy/nginx.conf):
# the side that closes an idle connection must be the proxy, or a request it
# sends on a connection the app is closing fails with a 502.
keepalive = int(os.environ.get("KEEPALIVE", "75"))

# The app reads X-Forwarded-* itself (ProxyHeadersMiddleware, with its own
# trusted list, shared with the rate limiter): uvicorn must not rewrite the
# client first, or the app would see a client where it expects its proxy.
forwarded_allow_ips = ""

accesslog = os.environ.get("ACCESS_LOG") or None  # the app logs requests itself
errorlog = "-"


def child_exit(server: object, worker: object) -> None:
    """prometheus-client's multiprocess mode: forget a dead worker's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
