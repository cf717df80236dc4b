"""One scenario, run against every ASGI server: what each one does with the same app.

The app is [compat_app.py](compat_app.py): todo's API, a WebSocket echo, a slow
endpoint, a lifespan that prints. ``run_scenario(server)`` starts the server in a
subprocess on a free port of 127.0.0.1 and does, in order:

1. ``GET /lifespan`` (did startup run before the first request?);
2. CRUD on a todo: POST (201 + Location), GET, PATCH, DELETE (204), GET (404);
3. a body over the app's limit: 413 problem details, framed as the protocol
   wants (``Connection: close`` on HTTP/1.1, no ``Connection`` on HTTP/2);
4. malformed JSON: 400 problem details;
5. a WebSocket echo (over HTTP/1.1 Upgrade, the only way the client speaks);
6. SIGTERM with ``GET /slow`` in flight: does the request finish, how does the
   server exit, did the lifespan shutdown run?

Each step is summed up in a short string, so a server's row is an ``Outcome``.
``EXPECTED`` holds the row each server must produce: test_compat.py runs the
scenario and compares, so a change in any server (or in the framework) fails
the row it changes. ``python -m tests.server.compat`` runs every installed
server and prints the table docs/10-the-server.md shows.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from tests.server import h2client
from tests.server.servers import ServerProcess, free_port

APP = "tests.server.compat_app:app"
TIMEOUT = 10.0  # seconds before a silent server fails the step (not a performance limit)
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Server:
    """One row: a server, its options, and the HTTP version the client speaks to it."""

    name: str
    package: str  # the module that must be importable to run it (its distribution installed)
    command: Callable[[int], list[str]]  # the command line, given the port
    http2: bool = False  # prior-knowledge HTTP/2 over cleartext (h2c)

    def installed(self) -> bool:
        return importlib.util.find_spec(self.package) is not None


def _python_m(module: str, *options: str) -> Callable[[int], list[str]]:
    """``python -m module ...``, with ``{port}`` in an option replaced by the port."""
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", module, *(o.format(port=port) for o in options)]
    return command


_UVICORN = ("uvicorn", APP, "--host", "127.0.0.1", "--port", "{port}", "--lifespan", "on")
_HYPERCORN = ("hypercorn", "--bind", "127.0.0.1:{port}", APP)
_GRANIAN = ("granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}")

SERVERS = [
    Server("minimal_asgi.server", "h11", _python_m(
        "minimal_asgi.server", APP, "--host", "127.0.0.1", "--port", "{port}")),
    Server("uvicorn --http h11", "uvicorn", _python_m(*_UVICORN, "--http", "h11")),
    Server("uvicorn --http httptools", "httptools",
           _python_m(*_UVICORN, "--http", "httptools")),
    Server("hypercorn", "hypercorn", _python_m(*_HYPERCORN)),
    Server("hypercorn, h2c", "hypercorn", _python_m(*_HYPERCORN), http2=True),
    Server("granian --http 1", "granian", _python_m(*_GRANIAN, "--http", "1", APP)),
    Server("granian --http 2", "granian", _python_m(*_GRANIAN, "--http", "2", APP),
           http2=True),
    Server("daphne", "daphne", _python_m("daphne", "-b", "127.0.0.1", "-p", "{port}", APP)),
]


@dataclass(frozen=True)
class Outcome:
    """What one server did at each step, in a few words."""

    protocol: str
    lifespan: str
    crud: str
    too_large: str
    bad_json: str
    websocket: str
    sigterm: str


HTTP1_EVERYTHING_WORKS = Outcome(
    protocol="HTTP/1.1",
    lifespan="startup first, shutdown last",
    crud="201 200 200 204 404",
    too_large="413 problem, Connection: close",
    bad_json="400 problem",
    websocket="echo",
    sigterm="200, exit 0",
)
HTTP2_EVERYTHING_WORKS = dataclasses.replace(
    HTTP1_EVERYTHING_WORKS, protocol="HTTP/2", too_large="413 problem"
)

# The row each server must produce. Where one differs from the first row, it is
# a real difference, found by running that server; the reason is beside it.
EXPECTED: dict[str, Outcome] = {
    "minimal_asgi.server": HTTP1_EVERYTHING_WORKS,
    # uvicorn finishes the request and runs the lifespan shutdown, then re-raises
    # the SIGTERM it caught, so its exit status says what stopped it (143 in a shell).
    "uvicorn --http h11": dataclasses.replace(
        HTTP1_EVERYTHING_WORKS, sigterm="200, exit -15 (SIGTERM)"),
    "uvicorn --http httptools": dataclasses.replace(
        HTTP1_EVERYTHING_WORKS, sigterm="200, exit -15 (SIGTERM)"),
    "hypercorn": HTTP1_EVERYTHING_WORKS,
    # hypercorn 0.18's HTTP/2 connection crashes (KeyError) on DATA for a stream
    # whose response is complete: a client still uploading a refused body loses
    # the connection, and the 413 with it (pgjones/hypercorn issue 329).
    "hypercorn, h2c": dataclasses.replace(HTTP2_EVERYTHING_WORKS, too_large="connection dropped"),
    "granian --http 1": HTTP1_EVERYTHING_WORKS,
    # HTTP/2 only: no HTTP/1.1 Upgrade, so no WebSocket ("Websockets are not
    # supported on HTTP/2 only", granian logs); WebSockets over HTTP/2 (RFC 8441)
    # are not offered either.
    "granian --http 2": dataclasses.replace(
        HTTP2_EVERYTHING_WORKS, websocket="no HTTP/1.1 handshake"),
    # daphne sends no lifespan events: the app's startup never runs, so the
    # framework answers every request with a problem-details 500 (a WebSocket is
    # closed before the handshake: daphne answers it 403) and logs the steps that
    # did not start (docs/05-lifecycle-hooks.md).
    "daphne": Outcome(
        protocol="HTTP/1.1",
        lifespan="none: 500 problem, log names say_started, no shutdown",
        crud="500 500 500 500 500",
        too_large="500 problem",
        bad_json="500 problem",
        websocket="handshake refused: 403",
        sigterm="500, exit 0",
    ),
}


# -- the steps ---------------------------------------------------------------------
def _problem(response: httpx.Response) -> str:
    kind = "problem" if response.headers.get("content-type") == PROBLEM else "not problem+json"
    return f"{response.status_code} {kind}"


def _lifespan_before_first_request(client: httpx.Client, server: ServerProcess) -> str:
    response = client.get("/lifespan")
    if response.status_code == 200:
        return "startup first" if response.json() == ["startup"] else f"saw {response.json()}"
    # No startup: the framework refuses every request and logs which steps never ran
    # (the log line may reach us after the response: wait for it).
    try:
        logged = server.wait_for("these steps did not start: ")
    except AssertionError:
        return f"none: {_problem(response)}, nothing logged"
    named = logged.split("these steps did not start: ", 1)[1].split(".")[0]
    return f"none: {_problem(response)}, log names {named}"


def _crud(client: httpx.Client) -> str:
    created = client.post("/v1/todos", json={"title": "run under every server"})
    statuses = [created.status_code]
    location = created.headers.get("location", "/v1/todos/1")
    if created.status_code == 201 and "location" not in created.headers:
        statuses.append("(no Location)")
    read = client.get(location)
    changed = client.patch(location, json={"done": True})
    deleted = client.delete(location)
    gone = client.get(location)
    statuses += [read.status_code, changed.status_code, deleted.status_code, gone.status_code]
    if read.status_code == 200 and read.json()["title"] != "run under every server":
        statuses.append(f"(read {read.json()})")
    if changed.status_code == 200 and changed.json()["done"] is not True:
        statuses.append(f"(changed {changed.json()})")
    return " ".join(map(str, statuses))


def _too_large(client: httpx.Client, limit: int) -> str:
    # Eight times the limit: more than HTTP/2's first flow-control window (64 KiB),
    # so the client is still sending when the app has answered - whatever the timing.
    body = b'{"title": "' + b"x" * 8 * limit + b'"}'
    try:
        response = client.post(
            "/v1/todos", content=body, headers={"content-type": "application/json"}
        )
    except httpx.TransportError:  # how it shows varies: a write, or a read, fails
        return "connection dropped"
    connection = response.headers.get("connection")
    return _problem(response) + (f", Connection: {connection}" if connection else "")


def _bad_json(client: httpx.Client) -> str:
    response = client.post(
        "/v1/todos", content=b'{"title": ', headers={"content-type": "application/json"}
    )
    return _problem(response)


def _websocket_echo(port: int) -> str:
    try:
        with connect(f"ws://127.0.0.1:{port}/ws/echo", open_timeout=TIMEOUT) as websocket:
            websocket.send("hello")
            return "echo" if websocket.recv(TIMEOUT) == "hello" else "wrong echo"
    except InvalidStatus as refused:
        return f"handshake refused: {refused.response.status_code}"
    except InvalidHandshake:  # an answer that is not HTTP/1.1 at all
        return "no HTTP/1.1 handshake"
    except ConnectionClosed as closed:
        return f"closed: {closed.rcvd.code if closed.rcvd else 'no close frame'}"


def _get_slow(address: tuple[str, int], http2: bool) -> str:
    if http2:  # not httpx: see h2client.py
        return h2client.get(address, "/slow", TIMEOUT)
    with httpx.Client(http1=True, timeout=TIMEOUT) as client:
        return str(client.get(f"http://{address[0]}:{address[1]}/slow").status_code)


def _sigterm_in_flight(server: ServerProcess, http2: bool) -> str:
    answers: list[str] = []

    def get_slow() -> None:
        try:
            answers.append(_get_slow(server.address, http2))
        except (httpx.HTTPError, OSError) as error:
            answers.append(type(error).__name__)

    thread = threading.Thread(target=get_slow)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    # Until the app has the request (or answered at once: an app that never started).
    while "app: received /slow" not in server.lines and thread.is_alive():
        assert time.monotonic() < deadline, f"GET /slow never arrived:\n{server.output}"
        time.sleep(0.01)
    # (Checked, or a very slow machine could turn this into a plain request.)
    in_flight = "app: answered /slow" not in server.lines
    server.signal(signal.SIGTERM)
    thread.join(TIMEOUT)
    answer = (answers[0] if answers else "no answer") + ("" if in_flight else " before SIGTERM")
    try:
        status = server.wait()
    except subprocess.TimeoutExpired:
        return f"{answer}, still running after {TIMEOUT}s"
    exited = f"exit {status}" + (f" ({signal.Signals(-status).name})" if status < 0 else "")
    return f"{answer}, {exited}"


def run_scenario(server: Server) -> Outcome:
    from tests.server.compat_app import MAX_BODY_SIZE  # the app, not the server

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with ServerProcess.command_line(server.command(port), port) as process:
        with httpx.Client(base_url=base_url, http1=not server.http2, http2=server.http2,
                          timeout=TIMEOUT) as client:
            first = _lifespan_before_first_request(client, process)
            protocol = client.get("/lifespan").http_version
            crud = _crud(client)
            too_large = _too_large(client, MAX_BODY_SIZE)
            bad_json = _bad_json(client)
        websocket = _websocket_echo(port)
        sigterm = _sigterm_in_flight(process, server.http2)
    lines = [line for line in process.lines if line.startswith("app: ")]
    last = "shutdown last" if lines[-1:] == ["app: shutdown"] else "no shutdown"
    return Outcome(protocol, f"{first}, {last}", crud, too_large, bad_json, websocket, sigterm)


# -- the table ---------------------------------------------------------------------
COLUMNS = ["server", *(f.name for f in dataclasses.fields(Outcome))]


def table(rows: dict[str, Outcome]) -> str:
    """A Markdown table, one row per server."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name, outcome in rows.items():
        lines.append("| " + " | ".join([name, *dataclasses.astuple(outcome)]) + " |")
    return "\n".join(lines)


def versions() -> str:
    packages = ["uvicorn", "httptools", "hypercorn", "granian", "daphne", "h11", "h2", "httpx"]
    found = []
    for package in packages:
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def main() -> None:
    rows: dict[str, Outcome] = {}
    differences: list[str] = []
    for server in SERVERS:
        if not server.installed():
            print(f"skipped {server.name}: {server.package} is not installed", file=sys.stderr)
            continue
        rows[server.name] = outcome = run_scenario(server)
        if outcome != EXPECTED[server.name]:
            differences.append(f"{server.name}: expected {EXPECTED[server.name]}")
    print(f"CPython {sys.version.split()[0]}, {versions()}\n")
    print(table(rows))
    for difference in differences:
        print(f"\nDIFFERS FROM EXPECTED - {difference}")


if __name__ == "__main__":
    main()
