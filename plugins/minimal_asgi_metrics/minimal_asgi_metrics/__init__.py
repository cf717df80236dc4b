"""minimal_asgi_metrics: Prometheus metrics at ``/metrics``.

::

    from minimal_asgi import App
    from minimal_asgi_metrics import Metrics

    app = App(plugins=[Metrics()])

Every HTTP request is counted and timed, labelled by its route *template*
(``/items/{item_id:int}``, never ``/items/42``: one time series per route, not
per URL), its method and its status code; requests that match no route share
the route label ``unmatched``. ``http_requests_in_flight`` counts the requests
being served. Whatever the other plugins count through ``app.counters``
(rate-limited requests, cache hits and misses, jobs retried and dead-lettered)
is exported as ``minimal_asgi_<name>_total``.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory before the server starts: each process writes its values there and
``/metrics``, whichever worker answers it, adds them all up
(prometheus-client's multiprocess mode).

The modules: plugin.py (``Metrics``: the metrics and the route) and
middleware.py (what runs for each request).
"""

from minimal_asgi_metrics.plugin import DEFAULT_BUCKETS, Metrics

__all__ = ["DEFAULT_BUCKETS", "Metrics"]
