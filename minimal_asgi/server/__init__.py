"""A small HTTP/1.1 and WebSocket ASGI server on h11, wsproto and anyio.

uvicorn is what you deploy; this is what you read to learn what a server does
between the socket and ``app(scope, receive, send)``. It speaks only ASGI, to
any app: it imports nothing of the framework around it. Start it with::

    python -m minimal_asgi.server examples.hello.app:app --host 127.0.0.1 --port 8000

Read it in the order a request meets it (docs/10-the-server.md walks through it):

- ``config.py``      every option and limit, and the command line
- ``main.py``        the socket, the accept loop, graceful shutdown
- ``connection.py``  one accepted socket: read, write, close
- ``http11.py``      one HTTP/1.1 connection over h11: scopes, receive, send
- ``websocket.py``   the websocket scope over wsproto
- ``lifespan.py``    startup and shutdown
- ``accesslog.py``   one line per request
- ``workers.py``     ``--workers N`` processes on one socket
"""

from minimal_asgi.server.config import Config, parse_args
from minimal_asgi.server.connection import ClientDisconnected
from minimal_asgi.server.lifespan import LifespanFailure
from minimal_asgi.server.main import Server, run

__all__ = ["ClientDisconnected", "Config", "LifespanFailure", "Server", "parse_args", "run"]
