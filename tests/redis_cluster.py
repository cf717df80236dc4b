"""A local three-master Redis Cluster for the tests that need one (the rate
limiter's script, the job queue's keys): started from the machine's
redis-server on free ports, stopped after the module; skipped, with the
reason, where that cannot be done.

tests/conftest.py loads this module as a pytest plugin: any test may ask for
``cluster`` (module-scoped; it yields the port of one node).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

NODES = 3
BUS_OFFSET = 10000  # a node also listens on port + 10000, its cluster bus


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_ports(count: int) -> list[int]:
    """Ports free now whose cluster-bus port (+10000) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + BUS_OFFSET < 65536 and not _listening(port + BUS_OFFSET) and port not in ports:
            ports.append(port)
    return ports


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.skip(f"gave up waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A three-master cluster; yields the port of one node."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server and redis-cli are needed to start a cluster")
    ports = _free_ports(NODES)
    folder = tmp_path_factory.mktemp("cluster")
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            data = Path(folder, str(port))
            data.mkdir()
            nodes.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--dir", str(data),
                 "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        _wait(lambda: all(_listening(port) for port in ports), "the nodes to listen")
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )

        def ready() -> bool:
            info = subprocess.run([cli, "-p", str(ports[0]), "cluster", "info"],
                                  capture_output=True, text=True, timeout=5).stdout
            return "cluster_state:ok" in info

        _wait(ready, "the cluster to be ready")
        yield ports[0]
    finally:
        for node in nodes:  # only the processes this fixture started
            node.terminate()
        for node in nodes:
            node.wait(timeout=10)
