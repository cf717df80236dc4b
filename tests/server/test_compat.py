"""The same app, the same scenario, under every ASGI server (see compat.py).

Each server's row of ``compat.EXPECTED`` is what it must do: everything works,
or a difference found by running it and written down with its reason. The test
fails when any server's behaviour moves away from its row - a fix upstream
included, so the table in docs/10-the-server.md cannot go stale.
"""

from __future__ import annotations

import os

import pytest

from tests.server import compat


@pytest.mark.parametrize("server", compat.SERVERS, ids=[s.name for s in compat.SERVERS])
def test_the_scenario_under_each_server_gives_its_expected_row(server: compat.Server) -> None:
    if not server.installed():
        message = f"{server.package} is not installed (`make` installs it: the dev extra)"
        if os.environ.get("MINIMAL_ASGI_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    assert compat.run_scenario(server) == compat.EXPECTED[server.name]


def test_every_server_has_an_expected_row() -> None:
    assert [s.name for s in compat.SERVERS] == list(compat.EXPECTED)


def test_the_table_has_a_row_per_server_and_a_column_per_step() -> None:
    rows = compat.table(compat.EXPECTED).splitlines()
    assert rows[0] == ("| server | protocol | lifespan | crud | too_large | bad_json "
                       "| websocket | sigterm |")
    assert len(rows) == 2 + len(compat.SERVERS)
    assert rows[2].startswith("| minimal_asgi.server | HTTP/1.1 | startup first")
