"""Response caching for one route: the ASGI app a ``cache=`` route is wrapped in.

A request reaches ``ResponseCache.__call__`` after routing. It is answered
from the cache, or runs the route and maybe stores what it sent. The rules,
each one a bug other caches have shipped:

* **Whose answer is it?** A request with ``Authorization`` or a session cookie
  is personal: it is neither served from nor stored into a shared entry. A
  route that opts in (``Cached(per_user=True)``) gets entries keyed by a hash
  of that identity, sent with ``Cache-Control: private``.
* **What is the key?** Scheme, host, path, the *parsed* query sorted (``;`` is
  not a separator, so ``?a=1;a=2`` is one value, ``a`` = ``1;a=2``), and the
  request headers the route declares it varies on. Nothing else: a header
  outside the key (``X-Forwarded-Host``) cannot choose what others get,
  and a response that ``Vary``-s on a header the key lacks is not stored.
* **What may be stored?** A complete response with a cacheable status (200,
  203, 301; 404 if the route says so), no ``Set-Cookie``, and no
  ``Cache-Control: private/no-store/no-cache``, whatever the request carried.
  A streamed body is passed on untouched as it comes and stored only if it
  ends within the size limit - never truncated.
* **What does the client get?** ``ETag`` and ``Cache-Control: max-age`` on
  every cacheable answer, ``Age`` on cached ones, and ``304 Not Modified``
  (same ``ETag`` and ``Cache-Control``, no body) when ``If-None-Match`` names
  the current entity tag.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from minimal_asgi import ASGIApp, ConfigurationError, Message, QueryParams, Receive, Scope, Send
from minimal_asgi_cache.store import Computed, Entry, Store

__all__ = ["Cached", "ResponseCache"]

logger = logging.getLogger("minimal_asgi_cache")

DEFAULT_STATUSES = frozenset({200, 203, 301})
# Response Cache-Control directives that forbid a shared cache to keep the answer.
_NOT_SHARED = frozenset({"private", "no-store", "no-cache"})
# PERF: built once; json.dumps(..., ensure_ascii=False) would build an encoder per key.
_KEY_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Request headers a background refresh must not repeat: they ask for a 304 or
# for no caching, which the refresh is not.
_CLIENT_ONLY = frozenset({b"if-none-match", b"if-modified-since", b"cache-control"})
_ENTITY_TAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Cached:
    """The ``cache=`` option of a route: ``@app.get("/todos", cache=Cached(ttl=60,
    tags=["todos"]))``; ``cache=60`` is ``Cached(ttl=60)``.

    ``vary``: request headers that choose the answer (``["accept-language"]``),
    made part of the key and sent in ``Vary``. ``per_user``: cache personal
    answers, one entry per ``Authorization``/session identity, sent
    ``private``. ``statuses``: which statuses may be stored. ``max_bytes``: the
    largest body stored (default: the Cache's ``max_entry_bytes``). ``stale``:
    seconds an expired answer is still served while the route runs again in the
    background (stale-while-revalidate).
    """

    ttl: float | None = None
    tags: Sequence[str] = ()
    vary: Sequence[str] = ()
    per_user: bool = False
    statuses: frozenset[int] = DEFAULT_STATUSES
    max_bytes: int | None = None
    stale: float = 0


@dataclass
class _Request:
    """The request headers the cache reads, found in one pass over the list."""

    authorization: bytes = b""
    cookies: list[tuple[str, str]] = field(default_factory=list)
    no_store: bool = False
    no_cache: bool = False
    if_none_match: bytes | None = None
    vary_values: dict[bytes, bytes] = field(default_factory=dict)


class ResponseCache:
    """The cache around one route's handler (built once, at startup)."""

    def __init__(
        self,
        handler: ASGIApp,
        store: Store,
        options: Cached,
        *,
        ttl: float,
        max_bytes: int,
        session_cookies: frozenset[str] | None,
        route_path: str,
        spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], bool] = lambda job: False,
    ) -> None:
        self.handler = handler
        self.spawn = spawn
        self.stale = float(options.stale)
        self._refreshing: set[str] = set()
        self.store = store
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.tags = tuple(options.tags)
        self.per_user = options.per_user
        self.statuses = options.statuses
        self.session_cookies = session_cookies
        self.route_path = route_path
        self.vary = tuple(name.lower().encode("latin-1") for name in options.vary)
        self.vary_header = ", ".join(name.lower() for name in options.vary).encode("latin-1")
        directives = f"max-age={int(ttl)}"
        if self.stale:
            directives += f", stale-while-revalidate={int(self.stale)}"  # RFC 5861
        self.cache_control = (f"private, {directives}" if self.per_user else directives).encode()
        self._warned_vary = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await self.handler(scope, receive, send)
            return
        request = self._read(scope["headers"])
        if request.no_store:
            await self.handler(scope, receive, send)  # the client asked that nothing be kept
            return
        identity = self._identity(request)
        if identity is None:
            await self.handler(scope, receive, send)  # personal, and the route did not opt in
            return
        key = self._key(scope, request, identity)
        tags = (*self.tags, "path:" + scope["path"])
        if method == "HEAD":
            # A HEAD can use a GET's entry, but never stores one (it has no body to store).
            if request.no_cache:
                await self.handler(scope, receive, send)
                return
            entry, _ = await self.store.lookup(key, tags)
            if entry is None:
                await self.handler(scope, receive, send)
            else:
                await self._serve(entry, request, send, head=True)
            return

        async def compute() -> Computed | None:
            recorder = _Recorder(self, request, send)
            await self.handler(scope, receive, recorder.send)
            payload = recorder.payload()
            return None if payload is None else Computed(payload, recorder.max_age)

        entry, computed = await self.store.fetch(
            key, tags, self.ttl, compute, use_stored=not request.no_cache, stale=self.stale
        )
        if not computed and entry is not None:
            if self.stale and not entry.fresh(self.store.clock()):
                self._refresh_later(scope, key, tags)
            await self._serve(entry, request, send, head=False)

    def _refresh_later(self, scope: Scope, key: str, tags: Sequence[str]) -> None:
        """Run the route again in the background - the same GET, as the same
        identity, without the client's validators - and store what it answers;
        the client already has the stale copy."""
        if key in self._refreshing:
            return  # one refresh per entry at a time
        # Without the client's validators: the refresh must get a full answer.
        headers = [(n, v) for n, v in scope["headers"] if n not in _CLIENT_ONLY]
        refresh_scope = {**scope, "headers": headers}
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await anyio.sleep_forever()  # no disconnect: the refresh runs to its end
            raise AssertionError("unreachable")

        async def discard(message: Message) -> None:
            return None

        async def compute() -> Computed | None:
            recorder = _Recorder(self, _Request(), discard)
            await self.handler(refresh_scope, receive, recorder.send)
            payload = recorder.payload()
            return None if payload is None else Computed(payload, recorder.max_age)

        async def refresh() -> None:
            try:
                await self.store.fetch(
                    key, tags, self.ttl, compute, use_stored=False, stale=self.stale
                )
            except Exception:
                # The stale copy keeps being served; the next request tries again.
                logger.exception("refreshing %s (%s) failed", self.route_path, key)
            finally:
                self._refreshing.discard(key)

        if self.spawn(refresh):
            self._refreshing.add(key)

    # -- the request side ----------------------------------------------------------

    def _read(self, headers: Iterable[tuple[bytes, bytes]]) -> _Request:
        request = _Request()
        for name, value in headers:
            if name == b"authorization":
                request.authorization = value
            elif name == b"cookie":
                request.cookies.extend(_cookies(value))
            elif name == b"cache-control":
                directives = _directives(value)
                request.no_store = request.no_store or "no-store" in directives
                request.no_cache = request.no_cache or bool(directives & {"no-cache", "max-age=0"})
            elif name == b"if-none-match":
                request.if_none_match = value
            if name in self.vary:
                previous = request.vary_values.get(name)
                request.vary_values[name] = value if previous is None else previous + b", " + value
        return request

    def _identity(self, request: _Request) -> str | None:
        """'' for an anonymous request, a hash of who is asking for a personal one
        on a per-user route, None for a personal one on a shared route."""
        session = [
            (name, value)
            for name, value in request.cookies
            if self.session_cookies is None or name in self.session_cookies
        ]
        if not request.authorization and not session:
            return ""
        if not self.per_user:
            return None
        who = repr((request.authorization, sorted(session))).encode()
        return hashlib.sha256(who).hexdigest()

    def _key(self, scope: Scope, request: _Request, identity: str) -> str:
        """``resp:`` and a JSON array: URL, sorted query pairs, the vary values,
        the identity hash. JSON, so no crafted path or value can pass for another
        part (a path ending in ``" user:<hash>"`` stays inside the URL string)."""
        raw_query = scope["query_string"]
        # PERF: most cached GETs have no query string: skip parsing it.
        query = sorted(QueryParams(raw_query).multi_items()) if raw_query else []
        host = next((v for n, v in scope["headers"] if n == b"host"), b"").decode("latin-1")
        url = f"{scope['scheme']}://{host}{scope.get('root_path', '')}{scope['path']}"
        vary = [request.vary_values.get(name, b"").decode("latin-1") for name in self.vary]
        return "resp:" + _KEY_JSON.encode([url, query, vary, identity])

    # -- the response side -------------------------------------------------------

    async def _serve(self, entry: Entry, request: _Request, send: Send, *, head: bool) -> None:
        parsed = entry.decoded
        if parsed is None:
            meta, _, body = entry.payload.partition(b"\n")
            status, pairs, etag = json.loads(meta)
            stored = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs]
            # PERF: kept on the entry, which the store reuses while the bytes are
            # the same (memory backend): the next hit skips this decoding.
            parsed = entry.decoded = (status, stored, body, etag)
        status, stored, body, etag = parsed
        headers = list(stored)
        headers.append((b"age", str(int(entry.age(self.store.clock()))).encode()))
        if _matches(request.if_none_match, etag):
            await _not_modified(headers, send)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    def storable_start(self, status: int, headers: list[tuple[bytes, bytes]]) -> bool:
        """May a response that starts like this be kept at all?"""
        if status not in self.statuses:
            return False
        for name, value in headers:
            if name == b"set-cookie":
                return False  # whatever the request carried: it hands out a session
            if name == b"cache-control":
                directives = _directives(value)
                refused = directives & _NOT_SHARED
                if refused - ({"private"} if self.per_user else set()):
                    return False
                if _max_age(directives) == 0:
                    return False  # already stale when sent
            if name == b"vary" and not self._vary_covered(value):
                return False
        return True

    def _vary_covered(self, value: bytes) -> bool:
        names = {n.strip().lower() for n in value.split(b",") if n.strip()}
        if b"*" in names:
            return False
        missing = names - set(self.vary)
        if missing and not self._warned_vary:
            self._warned_vary = True
            logger.warning(
                "route %s answers Vary: %s, which its cache key lacks; its responses are "
                "not cached. Declare them: cache=Cached(vary=[...])",
                self.route_path,
                b", ".join(sorted(missing)).decode("latin-1"),
            )
        return not missing


class _Recorder:
    """The ``send`` a computing handler talks to: passes every message on
    (holding the start until the first body, to add ``ETag``) and keeps a copy
    of a storable response, up to the size limit."""

    def __init__(self, cache: ResponseCache, request: _Request, send: Send) -> None:
        self.cache = cache
        self.request = request
        self.downstream = send
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False  # the start message has gone downstream
        self.not_modified = False  # answered 304: the body is kept, not sent
        self.storable = False
        self.complete = False
        self.body: list[bytes] = []
        self.size = 0
        self.etag = ""
        self.max_age: float | None = None  # the response's own freshness limit, if any

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status, self.headers = message["status"], list(message["headers"])
            self.storable = self.cache.storable_start(self.status, self.headers)
            for name, value in self.headers:
                if name == b"cache-control":
                    self.max_age = _max_age(_directives(value))
            return
        if kind != "http.response.body":
            await self.downstream(message)
            return
        chunk: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self.storable:
            self.size += len(chunk)
            if self.size > self.cache.max_bytes:
                self.storable, self.body = False, []  # too big: pass on, do not keep
            else:
                self.body.append(chunk)
        self.complete = not more
        if not self.started:
            self.started = True
            await self._send_start(chunk, more)
        if not self.not_modified:
            await self.downstream(message)

    async def _send_start(self, first_chunk: bytes, more: bool) -> None:
        headers = self.headers
        names = {name for name, _ in headers}
        if self.storable:
            etag = next((v for n, v in headers if n == b"etag"), None)
            if etag is None and not more:
                # The whole body is here already: its hash is its entity tag.
                etag = _entity_tag(first_chunk).encode()
                headers.append((b"etag", etag))
            self.etag = "" if etag is None else etag.decode("latin-1")
            if b"cache-control" not in names:
                headers.append((b"cache-control", self.cache.cache_control))
            if self.cache.vary and b"vary" not in names:
                headers.append((b"vary", self.cache.vary_header))
        if self.storable and _matches(self.request.if_none_match, self.etag):
            self.not_modified = True
            await _not_modified(headers, self.downstream)
            return
        start = {"type": "http.response.start", "status": self.status, "headers": headers}
        await self.downstream(start)

    def payload(self) -> bytes | None:
        if not (self.storable and self.complete and self.started):
            return None
        body = b"".join(self.body)
        if not self.etag:  # streamed: the tag is known only now, for the next clients
            self.etag = _entity_tag(body)
            self.headers.append((b"etag", self.etag.encode()))
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.headers]
        meta = json.dumps([self.status, headers, self.etag]).encode()
        return meta + b"\n" + body


async def _not_modified(headers: list[tuple[bytes, bytes]], send: Send) -> None:
    """304: the validators and caching headers of the 200 it stands for, no body
    (RFC 9110, 15.4.5)."""
    kept = {b"etag", b"cache-control", b"vary", b"age", b"expires", b"content-location"}
    await send(
        {
            "type": "http.response.start",
            "status": 304,
            "headers": [(n, v) for n, v in headers if n in kept],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def _entity_tag(body: bytes) -> str:
    """A strong entity tag from the bytes: equal bodies, equal tags, in any process."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: bytes | None, etag: str) -> bool:
    """Weak comparison (RFC 9110, 13.1.2): ``W/"x"`` matches ``"x"``; ``*`` matches
    any current entity."""
    if if_none_match is None or not etag:
        return False
    value = if_none_match.decode("latin-1").strip()
    if value == "*":
        return True
    wanted = etag.removeprefix("W/").strip('"')
    return wanted in _ENTITY_TAG.findall(value)


def _max_age(directives: set[str]) -> float | None:
    """How long a shared cache may keep the response: ``s-maxage``, else
    ``max-age`` (RFC 9111, 5.2.2); None if it says neither."""
    ages: dict[str, float] = {}
    for directive in directives:
        name, _, value = directive.partition("=")
        if name in ("s-maxage", "max-age") and value.strip('"').isdigit():
            ages[name] = float(value.strip('"'))
    return ages.get("s-maxage", ages.get("max-age"))


def _directives(value: bytes) -> set[str]:
    return {part.strip().lower().replace(" ", "") for part in value.decode("latin-1").split(",")}


def _cookies(header: bytes) -> Iterable[tuple[str, str]]:
    for pair in header.decode("latin-1").split(";"):
        name, _, value = pair.strip().partition("=")
        if name:
            yield name, value


def cached_options(value: object, default_ttl: float, where: str) -> Cached | None:
    """The route option as ``Cached`` (None: not cached), checked at startup."""
    if value is None or value is False:
        return None
    if value is True:
        return Cached(ttl=default_ttl)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = Cached(ttl=value)
    if not isinstance(value, Cached):
        raise ConfigurationError(f"{where}: cache= takes seconds or Cached(...), not {value!r}")
    for name in ("tags", "vary"):
        given = getattr(value, name)
        if isinstance(given, str):  # would be read letter by letter
            raise ConfigurationError(
                f"{where}: Cached({name}=...) takes a list of names: {name}=[{given!r}]"
            )
    return value


__all__ += ["cached_options"]
