"""The tutorial's promises, kept: docs/tutorial/README.md runs as written.

Each step of the tutorial is a folder, docs/tutorial/step-NN/, holding the app
as it stands after that step. The README shows, per step, console transcripts:

    ```console
    $ curl -s 127.0.0.1:8000/notes
    []
    ```

Every ``$ curl ...`` line is replayed against that step's app - in-process
through ``TestClient``, and over TCP against the folder served by uvicorn,
exactly as the reader starts it - and what it prints is compared with the
lines under it (``...`` and ``<number>`` as in tests/test_docs.py). A
``$ python file.py`` or ``$ pytest ...`` line is run in the step's folder.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest

from minimal_asgi.testing import TestClient
from tests.test_docs import output_matches, read_markdown

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial"
README = TUTORIAL / "README.md"
STEPS = sorted(path.name for path in TUTORIAL.glob("step-*") if path.is_dir())
STARTUP_TIMEOUT = 30.0  # seconds for uvicorn to listen: not a performance limit


@dataclass
class Command:
    line: int  # where it is in the README
    argv: list[str]
    expected: list[str] = field(default_factory=list)


def transcripts() -> dict[str, list[Command]]:
    """Each step's ``$`` commands and the output the README shows for them,
    keyed by step folder (the ``## Step NN`` heading the block sits under)."""
    document = read_markdown(README.read_text(encoding="utf-8"))
    headings = [
        (number, f"step-{match.group(1)}")
        for number, text in document.prose
        if (match := re.match(r"## Step (\d\d)\b", text))
    ]
    found: dict[str, list[Command]] = {}
    for block in document.blocks:
        if block.language != "console":
            continue
        step = [name for number, name in headings if number < block.line][-1]
        commands = found.setdefault(step, [])
        for offset, text in enumerate(block.code.splitlines()):
            if text.startswith("$ "):
                commands.append(Command(block.line + offset, shlex.split(text[2:])))
            else:
                commands[-1].expected.append(text)
    return found


TRANSCRIPTS = transcripts()


# -- curl, played by the test --------------------------------------------------------


@dataclass
class Curl:
    """The few curl options the tutorial uses: -s, -i, -X, -H, --json."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    show_headers: bool = False

    @classmethod
    def parse(cls, argv: list[str]) -> Curl:
        assert argv[0] == "curl", argv
        request = cls(url="")
        words = iter(argv[1:])
        for word in words:
            if word == "-s":
                continue
            if word == "-i" or word == "-si":
                request.show_headers = True
            elif word == "-X":
                request.method = next(words)
            elif word == "-H":
                name, _, value = next(words).partition(":")
                request.headers[name.strip()] = value.strip()
            elif word == "--json":  # curl 7.82+: POST, and both JSON headers
                request.body = next(words).encode()
                request.method = "POST" if request.method == "GET" else request.method
                request.headers.setdefault("Content-Type", "application/json")
                request.headers.setdefault("Accept", "application/json")
            else:
                assert not word.startswith("-"), f"the test does not know curl's {word}"
                request.url = word if "://" in word else f"http://{word}"
        return request

    @property
    def target(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def printed(self, status: int, reason: str, headers: list[tuple[str, str]], body: str) -> str:
        if not self.show_headers:
            return body
        head = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
        return "\n".join([*head, "", body])


def matches(printed: str, expected: list[str], show_headers: bool) -> bool:
    """Like output_matches; with ``-i``, the README may leave out headers (the
    date, the server's name): each header it shows must be there."""
    if not show_headers:
        return output_matches(printed, "\n".join(expected))
    got_head, _, got_body = printed.partition("\n\n")
    blank = expected.index("")
    want_head, want_body = expected[:blank], expected[blank + 1 :]
    got_lines = got_head.splitlines()
    return (
        output_matches(got_lines[0], want_head[0])
        and all(any(output_matches(g, w) for g in got_lines[1:]) for w in want_head[1:])
        and output_matches(got_body, "\n".join(want_body))
    )


def in_process(client: TestClient) -> Callable[[Curl], str]:
    def run(curl: Curl) -> str:
        response = client.request(curl.method, curl.target, headers=curl.headers, content=curl.body)
        headers = [(k.decode(), v.decode()) for k, v in response.headers.raw]
        return curl.printed(response.status_code, response.reason_phrase, headers, response.text)

    return run


def over_tcp(port: int) -> Callable[[Curl], str]:
    def run(curl: Curl) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=STARTUP_TIMEOUT)
        try:
            connection.request(curl.method, curl.target, body=curl.body, headers=curl.headers)
            response = connection.getresponse()
            body = response.read().decode()
            return curl.printed(response.status, response.reason, response.getheaders(), body)
        finally:
            connection.close()

    return run


def replay(step: str, send: Callable[[Curl], str], environment: dict[str, str]) -> None:
    for command in TRANSCRIPTS[step]:
        if command.argv[0] == "curl":
            curl = Curl.parse(command.argv)
            printed = send(curl)
            ok = matches(printed, command.expected, curl.show_headers)
        else:  # python something.py, pytest ...: run it in the step's folder
            argv = [sys.executable, *command.argv[1:]]
            if command.argv[0] == "pytest":
                argv = [sys.executable, "-m", "pytest", *command.argv[1:]]
            finished = subprocess.run(
                argv,
                cwd=TUTORIAL / step,
                capture_output=True,
                text=True,
                env=environment,
                timeout=300,
            )
            printed = finished.stdout
            ok = finished.returncode == 0 and output_matches(printed, "\n".join(command.expected))
            printed += finished.stderr
        assert ok, (
            f"docs/tutorial/README.md:{command.line}: `{shlex.join(command.argv)}` printed\n"
            f"{printed}\nbut the tutorial shows\n" + "\n".join(command.expected)
        )


# -- the tests -------------------------------------------------------------------------


def clean_environment() -> dict[str, str]:
    """The reader's shell: no DATABASE_URL (so SQLite in memory), our Python first."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    return environment


def load_app(step: str) -> ModuleType:
    """docs/tutorial/step-NN/app.py as a module of its own (each step has an app.py)."""
    path = TUTORIAL / step / "app.py"
    spec = importlib.util.spec_from_file_location(f"tutorial_{step.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_step_has_an_app_and_a_transcript() -> None:
    assert [f"step-{n:02}" for n in range(1, len(STEPS) + 1)] == STEPS
    assert len(STEPS) >= 8
    for step in STEPS:
        assert (TUTORIAL / step / "app.py").is_file(), step
        assert any(c.argv[0] == "curl" for c in TRANSCRIPTS.get(step, [])), (
            f"the README shows no `$ curl` for {step}"
        )


@pytest.mark.parametrize("step", STEPS)
def test_step_prints_what_the_tutorial_shows_in_process(
    step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    module = load_app(step)
    with TestClient(module.app) as client:
        replay(step, in_process(client), clean_environment())


@contextlib.contextmanager
def uvicorn_in(folder: Path) -> Iterator[int]:
    """``uvicorn app:app --port N`` in ``folder``, as the tutorial tells the reader."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)],
        cwd=folder,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.communicate()[0]
                raise AssertionError(f"uvicorn did not listen on {port}:\n{output}")
            time.sleep(0.05)
        yield port
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(STARTUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.stdout is not None:
            server.stdout.close()


@pytest.mark.parametrize("step", STEPS)
def test_step_prints_what_the_tutorial_shows_under_uvicorn(step: str) -> None:
    with uvicorn_in(TUTORIAL / step) as port:
        replay(step, over_tcp(port), clean_environment())


def test_the_sql_steps_run_on_postgresql_too(pg_url: str) -> None:
    """What step 06 says about DATABASE_URL: the same app on PostgreSQL."""
    module = load_app("step-08")
    with TestClient(module.create_app(pg_url)) as client:
        created = client.post("/notes", json={"title": "on postgres"})
        assert created.status_code == 201, created.text
        assert client.get(f"/notes/{created.json()['id']}").json()["title"] == "on postgres"
        assert client.post("/notes", json={"title": ""}).status_code == 422
        assert [n["title"] for n in client.get("/notes").json()] == ["on postgres"]


def test_a_note_in_a_sqlite_file_survives_a_restart(tmp_path: Path) -> None:
    """What step 06 says about DATABASE_URL=sqlite:///notes.db."""
    module = load_app("step-06")
    url = f"sqlite:///{tmp_path / 'notes.db'}"  # an absolute path: sqlite:////tmp/...
    with TestClient(module.create_app(url)) as client:
        assert client.post("/notes", json={"title": "kept"}).status_code == 201
    with TestClient(module.create_app(url)) as client:  # a new app: the server restarted
        assert [note["title"] for note in client.get("/notes").json()] == ["kept"]


def test_the_live_feed_under_uvicorn() -> None:
    """Step 07's WebSocket over a real connection: the browser's part played with
    wsproto (the WebSocket protocol library minimal_asgi.server uses)."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Message, Request

    with uvicorn_in(TUTORIAL / "step-07") as port:
        with socket.create_connection(("127.0.0.1", port), timeout=STARTUP_TIMEOUT) as sock:
            websocket = WSConnection(ConnectionType.CLIENT)
            sock.sendall(websocket.send(Request(host="127.0.0.1", target="/notes/live")))

            def next_event() -> object:
                while True:
                    for event in websocket.events():
                        return event
                    websocket.receive_data(sock.recv(65536))

            assert isinstance(next_event(), AcceptConnection)
            curl = Curl.parse(["curl", "--json", '{"title": "pushed"}', f"127.0.0.1:{port}/notes"])
            assert json.loads(over_tcp(port)(curl))["title"] == "pushed"
            pushed = next_event()
            assert isinstance(pushed, Message)
            assert json.loads(pushed.data) == {"id": 1, "title": "pushed", "body": ""}
