"""A job as it travels: a name, a JSON payload, and how many tries it has had.

The same few fields go through every backend, encoded as one JSON text, so a
job enqueued by one process is read by a worker in another (or written by
another language): nothing here is pickled.
"""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any


@dataclasses.dataclass(frozen=True)
class Job:
    """``attempts`` counts the tries that ended without success before this
    message was sent: failures, and deliveries whose worker never answered."""

    id: str
    name: str
    payload: Any
    attempts: int = 0
    enqueued_at: float = 0.0


@dataclasses.dataclass
class Delivery:
    """One job handed to one worker. ``deliveries`` is how many times the broker
    has handed out *this message* (more than 1: a worker died holding it, or
    its lease ran out); ``handle`` is the backend's own (a stream entry id, an
    AMQP message)."""

    job: Job
    handle: Any
    deliveries: int = 1

    @property
    def tries(self) -> int:
        """Which try this one is, counting from 1."""
        return self.job.attempts + self.deliveries


@dataclasses.dataclass(frozen=True)
class DeadJob:
    """A job that used all its tries, as the dead-letter store keeps it."""

    id: str  # the dead-letter entry's id, to requeue it by
    job: Job
    error: str
    attempts: int


def encode(job: Job) -> str:
    return json.dumps(dataclasses.asdict(job), separators=(",", ":"))


def decode(text: str | bytes) -> Job:
    fields = json.loads(text)
    return Job(
        id=str(fields["id"]),
        name=str(fields["name"]),
        payload=fields.get("payload"),
        attempts=int(fields.get("attempts", 0)),
        enqueued_at=float(fields.get("enqueued_at", 0.0)),
    )


def backoff(tries: int, base: float, cap: float) -> float:
    """Seconds to wait after try number ``tries`` failed: exponential (``base``,
    twice that, four times...) up to ``cap``, half of it fixed and half random
    ("equal jitter"). The jitter matters when many jobs fail together (a
    database restarting): without it they all come back at the same instant
    and knock it over again."""
    # The exponent is capped before it is used: 2.0 ** 1025 overflows a float,
    # and a job allowed that many tries must still get a number, not a crash.
    ceiling = min(cap, base * 2.0 ** min(tries - 1, 64))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))
