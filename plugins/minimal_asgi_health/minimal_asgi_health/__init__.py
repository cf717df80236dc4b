"""minimal_asgi_health: liveness and readiness endpoints.

::

    from minimal_asgi import App
    from minimal_asgi_health import Health

    health = Health(timeout=1.0)
    app = App(plugins=[sql, redis, health])      # SQL and Redis are checked when installed
    health.add_check("search", ping_search)   # an async callable: raising or False means down

``GET /health/live`` answers 200 while the process can answer at all: an
orchestrator restarts the process when it stops. ``GET /health/ready``
answers 200 when every dependency answered within ``timeout`` (checked
concurrently), else 503 naming which failed: a load balancer sends no traffic
until it is 200 again. A draining app (shutdown begun) is not ready.
"""

from minimal_asgi_health.plugin import Check, Health

__all__ = ["Check", "Health"]
