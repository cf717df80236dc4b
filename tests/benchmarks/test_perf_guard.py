"""The performance guard checks every scenario it counts, the server's included.

``make perf-guard`` itself runs under valgrind, in ``.ci/run``; these tests
check what it is made of without counting anything: that each scenario has a
budget, that the comparison fails above 10%, and that the server the
``server: ...`` scenarios count starts and answers as the guard expects.
"""

from __future__ import annotations

from benchmarks import harness, perf_guard, server_vs_uvicorn


def test_every_scenario_has_a_budget_and_every_budget_a_scenario() -> None:
    known = {*perf_guard.scenarios(), *perf_guard.SERVER_SCENARIOS}
    budgeted = set(perf_guard.load_budget()["scenarios"])
    assert known - budgeted == set(), "count them with --update 'why'"
    assert budgeted - known == set(), "a budget for a scenario that no longer exists"


def test_a_server_scenario_more_than_10_percent_over_budget_fails() -> None:
    budget = perf_guard.load_budget()
    name = "server: Connection: close GET"
    limit = budget["scenarios"][name]["instructions"]
    _, over = perf_guard.compare({name: limit * 1.09}, budget)
    assert over == []
    _, over = perf_guard.compare({name: limit * 1.11}, budget)
    assert len(over) == 1 and over[0].startswith(name)


def test_the_server_the_guard_counts_answers_on_both_kinds_of_connection() -> None:
    label = server_vs_uvicorn.MINIMAL
    with harness.Running(label, server_vs_uvicorn.SERVERS[label]) as server:
        server.check(server_vs_uvicorn.EXPECTED)
        for close in perf_guard.SERVER_SCENARIOS.values():
            harness.blocking_requests(server.port, 3, close)
