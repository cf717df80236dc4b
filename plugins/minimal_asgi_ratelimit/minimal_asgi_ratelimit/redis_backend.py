"""The Redis backend: one decision, one atomic round-trip.

The arithmetic of algorithms.py, in Lua, run inside Redis with ``EVALSHA``.
A script runs alone - no other command interleaves - so reading every
counter of a decision, deciding, and writing them back is atomic across
every process and every app instance that shares the Redis server. (The
bug this avoids: a read, a decision in Python, then a write, made "safe"
with a process-local lock, which serialises one process and lets each
worker spend the whole quota.) Further choices the script makes:

- **Redis's clock, not the app's** (``TIME``): hosts whose clocks disagree
  still share one window.
- **The expiry is set in the same script as the count**, so no key lives
  without a TTL (the INCR-then-EXPIRE race, where a crash between the two
  leaves a counter that never resets).
- **Counters, not a log of timestamps**: two hits in the same millisecond are
  two increments, never one sorted-set member written twice.
- **One hash tag per decision**: every key of a decision is
  ``<prefix>:{<key>}:<limit>``, so on Redis Cluster they live in one slot and
  the script runs there unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import anyio
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from minimal_asgi_ratelimit.algorithms import Decision, Outcome
from minimal_asgi_ratelimit.limits import Limit

__all__ = ["LUA_SCRIPT", "RedisBackend"]

# KEYS: one per limit. ARGV: now in ms ("" = ask Redis), cost, then for each
# limit: algorithm, amount, window in ms.
# Returns: allowed (1/0), then for each limit: allowed, remaining, reset ms, retry ms.
LUA_SCRIPT = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local cost = tonumber(ARGV[2])
local answers = {}
local writes = {}
local all_allowed = 1
for i = 1, #KEYS do
  local base = 3 + (i - 1) * 3
  local algorithm = ARGV[base]
  local amount = tonumber(ARGV[base + 1])
  local window = tonumber(ARGV[base + 2])
  local ok, left, reset, retry = 0, 0, 0, 0
  if algorithm == 'gcra' then
    local interval = window / amount
    local tat = tonumber(redis.call('GET', KEYS[i])) or now
    if tat < now then tat = now end
    local new_tat = tat + interval * cost
    if new_tat - now <= window then
      ok = 1
      left = math.floor((now + window - new_tat) / interval)
      reset = math.ceil(new_tat - now)
      writes[i] = {'gcra', string.format('%.4f', new_tat), reset}
    else
      left = math.max(0, math.floor((now + window - tat) / interval))
      reset = math.min(window, math.ceil(tat - now))
      retry = math.ceil(new_tat - window - now)
    end
  else
    local index = math.floor(now / window)
    local elapsed = now - index * window
    local stored = redis.call('HMGET', KEYS[i], 'i', 'c', 'p')
    local stored_index = tonumber(stored[1])
    local current, previous = 0, 0
    if algorithm == 'fixed-window' then
      if stored_index == index then current = tonumber(stored[2]) end
      reset = window - elapsed
      if current + cost <= amount then
        ok = 1
        left = amount - current - cost
        writes[i] = {'hash', index, current + cost, 0, reset}
      else
        left = math.max(0, amount - current)
        retry = reset
      end
    else -- sliding-window: everything times `window`, to stay in integers
      if stored_index == index then
        current, previous = tonumber(stored[2]), tonumber(stored[3])
      elseif stored_index == index - 1 then
        previous = tonumber(stored[2])
      end
      local used = previous * (window - elapsed) + current * window
      reset = window - elapsed
      if used + cost * window <= amount * window then
        ok = 1
        left = math.floor((amount * window - used - cost * window) / window)
        writes[i] = {'hash', index, current + cost, previous, 2 * window - elapsed}
      else
        left = math.max(0, math.floor((amount * window - used) / window))
        if current + cost <= amount then
          local until_ = window - math.floor((amount - current - cost) * window / previous)
          retry = math.max(1, until_ - elapsed)
        elseif cost <= amount then
          local until_ = window - math.floor((amount - cost) * window / current)
          retry = reset + math.max(0, until_)
        else
          retry = 2 * window
        end
      end
    end
  end
  if ok == 0 then all_allowed = 0 end
  answers[#answers + 1] = ok
  answers[#answers + 1] = left
  answers[#answers + 1] = reset
  answers[#answers + 1] = retry
end
if all_allowed == 0 then
  -- Refused: nothing is counted, so a limit that would have allowed the hit
  -- still has what it had before it.
  for i = 1, #KEYS do
    if answers[4 * i - 3] == 1 then answers[4 * i - 2] = answers[4 * i - 2] + cost end
  end
else
  for i = 1, #KEYS do
    local w = writes[i]
    if w[1] == 'gcra' then
      redis.call('SET', KEYS[i], w[2], 'PX', math.max(1, w[3]))
    else
      redis.call('HSET', KEYS[i], 'i', w[2], 'c', w[3], 'p', w[4])
      redis.call('PEXPIRE', KEYS[i], math.max(1, w[5]))
    end
  end
end
table.insert(answers, 1, all_allowed)
return answers
"""

_SHA = hashlib.sha1(LUA_SCRIPT.encode()).hexdigest()


class BackendUnavailable(Exception):
    """The backend did not answer (down, or slower than its timeout)."""


class RedisBackend:
    """Counters in Redis, shared by every process that uses the same server.

    ``client`` is a ``redis.asyncio`` client (or ``RedisCluster``), or a
    function returning one - how the plugin hands over the shared pool of
    ``minimal_asgi_redis``, which exists only once the app has started.
    ``timeout`` bounds each decision, in seconds. ``clock`` (ms) replaces
    Redis's own time; for tests only.
    """

    def __init__(
        self,
        client: aioredis.Redis | Any | Callable[[], Any],
        *,
        prefix: str = "ratelimit",
        timeout: float = 0.25,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.timeout = timeout
        self.clock = clock

    @property
    def client(self) -> Any:
        client = self._client
        # A client is itself callable in no way that returns a client; a getter is.
        if callable(client) and not hasattr(client, "evalsha"):
            return client()
        return client

    def keys_for(self, key: str, limits: tuple[Limit, ...]) -> list[str]:
        # The {hash tag}: every key of one decision in one Redis Cluster slot.
        return [f"{self.prefix}:{{{key}}}:{limit.id}" for limit in limits]

    async def hit(self, key: str, limits: tuple[Limit, ...], cost: int = 1) -> Decision:
        keys = self.keys_for(key, limits)
        args: list[Any] = ["" if self.clock is None else self.clock(), cost]
        for limit in limits:
            args += [limit.algorithm, limit.amount, limit.window_ms]
        try:
            with anyio.fail_after(self.timeout):
                reply = await self._run(keys, args)
        except TimeoutError as exc:
            raise BackendUnavailable(f"Redis did not answer within {self.timeout} s") from exc
        except (OSError, aioredis.RedisError) as exc:
            raise BackendUnavailable(f"Redis is unreachable: {exc}") from exc
        outcomes = tuple(
            Outcome(limit, bool(reply[1 + 4 * i]), int(reply[2 + 4 * i]),
                    int(reply[3 + 4 * i]), int(reply[4 + 4 * i]))
            for i, limit in enumerate(limits)
        )
        return Decision(bool(reply[0]), outcomes)

    async def _run(self, keys: list[str], args: list[Any]) -> Any:
        client = self.client
        try:
            return await client.evalsha(_SHA, len(keys), *keys, *args)
        except NoScriptError:
            # First use on this server (or after a restart or SCRIPT FLUSH):
            # load the script once, then every later call is EVALSHA.
            await client.script_load(LUA_SCRIPT)
            return await client.evalsha(_SHA, len(keys), *keys, *args)

    async def aclose(self) -> None:
        """The client belongs to whoever opened it; nothing to close here."""
