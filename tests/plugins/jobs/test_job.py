"""The pieces under the queue: the job's wire format, the backoff, the
RabbitMQ delay buckets."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from minimal_asgi_jobs import Job
from minimal_asgi_jobs._job import backoff, decode, encode
from minimal_asgi_jobs._rabbitmq import _bucket

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(payload=JSON, attempts=st.integers(0, 50), name=st.text(min_size=1, max_size=20))
def test_a_job_survives_the_wire_unchanged(payload: object, attempts: int, name: str) -> None:
    job = Job("id-1", name, payload, attempts, 1700000000.25)
    text = encode(job)
    assert decode(text) == job
    assert decode(text.encode()) == job  # Redis and AMQP hand back bytes
    json.loads(text)  # plain JSON: any language can enqueue or read a job


@given(tries=st.integers(1, 40), base=st.floats(0.01, 10), cap=st.floats(0.01, 600))
def test_backoff_is_half_fixed_half_random_under_an_exponential_ceiling(
    tries: int, base: float, cap: float
) -> None:
    ceiling = min(cap, base * 2 ** (tries - 1))
    assert ceiling / 2 <= backoff(tries, base, cap) <= ceiling


def test_backoff_doubles_until_the_cap() -> None:
    floors = [min(300.0, 1.0 * 2 ** (tries - 1)) / 2 for tries in range(1, 12)]
    assert floors[:4] == [0.5, 1.0, 2.0, 4.0] and floors[-1] == 150.0
    assert all(backoff(t, 1.0, 300.0) >= f for t, f in zip(range(1, 12), floors, strict=True))


@given(tries=st.integers(1, 10**6))
def test_backoff_is_the_cap_however_many_tries_came_before(tries: int) -> None:
    # 2.0 ** 1025 overflows a float: a job allowed that many tries once crashed here.
    assert 0 < backoff(tries, 1.0, 300.0) <= 300.0
    if tries > 20:
        assert backoff(tries, 1.0, 300.0) >= 150.0


@given(milliseconds=st.integers(0, 10**8))
def test_rabbitmq_delays_round_to_two_significant_digits(milliseconds: int) -> None:
    bucket = _bucket(milliseconds)
    assert abs(bucket - milliseconds) <= max(0.05 * milliseconds, 0)
    if milliseconds >= 100:
        assert len(str(bucket).rstrip("0")) <= 2
