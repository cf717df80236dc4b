"""The small containers a request is made of: headers, query parameters, URLs.

The server hands us raw bytes (``scope["headers"]`` is a list of byte pairs,
``scope["query_string"]`` is bytes). These classes wrap that raw data and decode
it only when someone reads it, so a handler that never looks at a header never
pays for parsing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode

__all__ = [
    "URL",
    "Address",
    "FormData",
    "Headers",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "State",
]


class Address(NamedTuple):
    """The client's (host, port), as the server reported it."""

    host: str
    port: int


class MultiDict(Mapping[str, str]):
    """A read-only mapping where a key may appear more than once.

    ``d[key]`` gives the *last* value (what a form or query string usually means
    by "the" value); ``d.getlist(key)`` gives every value in order.
    """

    __slots__ = ("_dict", "_list")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        # PERF: a list (what the parsers produce) first: isinstance() against
        # the Mapping ABC costs more than building a small query's dict.
        if type(items) is list:
            pairs = items
        else:
            pairs = list(items.items() if isinstance(items, Mapping) else items)
        self._list: list[tuple[str, str]] = pairs
        self._dict: dict[str, str] = dict(pairs)

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._list)

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def get(self, key: str, default: Any = None) -> Any:
        # PERF: Mapping.get would go through __getitem__ and a try/except, in Python.
        return self._dict.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return sorted(self._list) == sorted(other._list)
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class QueryParams(MultiDict):
    """Query-string parameters; built from the raw ``query_string`` bytes."""

    __slots__ = ()

    def __init__(
        self, query: bytes | str | Iterable[tuple[str, str]] | Mapping[str, str] = ()
    ) -> None:
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        if isinstance(query, str):
            if "%" in query or "+" in query:
                pairs = parse_qsl(query, keep_blank_values=True)
            else:
                # PERF: nothing to unescape (the usual ?page=2&sort=name): split
                # by hand, as parse_qsl would, at a fraction of its cost (a
                # hypothesis test checks the two agree).
                pairs = []
                for field in query.split("&"):
                    if field:
                        name, _, value = field.partition("=")
                        pairs.append((name, value))
            super().__init__(pairs)
        else:
            super().__init__(query)

    def __str__(self) -> str:
        return urlencode(self._list)


class FormData(MultiDict):
    """Fields of a submitted form: ``str`` values, and ``UploadFile`` values
    for the files of a ``multipart/form-data`` body (uploads.py)."""

    __slots__ = ()

    def close_files(self) -> None:
        """Close every file of the form (each closed file is deleted)."""
        for _, value in self._list:
            close_now = getattr(value, "close_now", None)
            if close_now is not None:
                close_now()

    async def close(self) -> None:
        self.close_files()


class Headers(Mapping[str, str]):
    """Request or response headers: case-insensitive, and a name may repeat.

    Backed by the raw ASGI list of ``(name, value)`` byte pairs. Names are
    lower-cased by ASGI servers already, so look-ups lower-case only the key
    being asked for. Values are decoded as latin-1, as HTTP/1.1 defines them.
    """

    __slots__ = ("_raw",)

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        *,
        raw: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        if raw is not None:
            self._raw = raw
        else:
            self._raw = [
                (k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in (headers or {}).items()
            ]

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._raw

    def getlist(self, key: str) -> list[str]:
        name = key.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self._raw if k == name]

    def __getitem__(self, key: str) -> str:
        name = key.lower().encode("latin-1")
        for k, v in self._raw:
            if k == name:
                return v.decode("latin-1")
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        # PERF: written out: Mapping.get would go through __getitem__ and a KeyError.
        name = key.lower().encode("latin-1")
        for k, v in self._raw:
            if k == name:
                return v.decode("latin-1")
        return default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        name = key.lower().encode("latin-1")
        return any(k == name for k, _ in self._raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(dict.fromkeys(k.decode("latin-1") for k, _ in self._raw))

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._raw]

    def __len__(self) -> int:
        return len(self.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return sorted(self._raw) == sorted(other._raw)
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.items()!r})"


_FORBIDDEN_IN_HEADER = frozenset("\r\n\x00")


def check_header_value(name: str, value: str) -> None:
    """Refuse a header that would let a value smuggle in another header.

    A CR or LF inside a value ends the header line early: whatever follows
    becomes a header (or a body) the application never meant to send - the
    classic response-splitting attack. We raise instead of sending it.
    """
    if _FORBIDDEN_IN_HEADER.intersection(name) or _FORBIDDEN_IN_HEADER.intersection(value):
        raise ValueError(
            f"header {name!r} contains CR, LF or NUL; such a value could split the "
            "response. Remove line breaks from header values (encode them if needed)."
        )
    if not name or any(c in name for c in " \t:()<>@,;\\\"/[]?={}"):
        raise ValueError(f"{name!r} is not a valid header name")


class MutableHeaders(Headers):
    """Headers a response is still building. Every value written is checked."""

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        check_header_value(key, value)
        name = key.lower().encode("latin-1")
        kept = [(k, v) for k, v in self._raw if k != name]
        kept.append((name, value.encode("latin-1")))
        self._raw[:] = kept

    def __delitem__(self, key: str) -> None:
        name = key.lower().encode("latin-1")
        if name not in (k for k, _ in self._raw):
            raise KeyError(key)
        self._raw[:] = [(k, v) for k, v in self._raw if k != name]

    def append(self, key: str, value: str) -> None:
        """Add a header even if one of that name exists (e.g. ``set-cookie``)."""
        check_header_value(key, value)
        self._raw.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def setdefault(self, key: str, value: str) -> str:
        if key in self:
            return self[key]
        self[key] = value
        return value

    def update(self, other: Mapping[str, str]) -> None:
        for k, v in other.items():
            self[k] = v

    def add_vary(self, value: str) -> None:
        """Add a field to ``Vary`` without repeating one already there."""
        existing = [v.strip() for v in self.get("vary", "").split(",") if v.strip()]
        if value.lower() not in (v.lower() for v in existing):
            existing.append(value)
        self["vary"] = ", ".join(existing)


class URL:
    """A parsed URL. Built from a request's scope or from a string."""

    __slots__ = ("fragment", "hostname", "path", "port", "query", "scheme")

    def __init__(
        self,
        scheme: str = "http",
        hostname: str = "",
        port: int | None = None,
        path: str = "/",
        query: str = "",
        fragment: str = "",
    ) -> None:
        self.scheme = scheme
        self.hostname = hostname
        self.port = port
        self.path = path
        self.query = query
        self.fragment = fragment

    @classmethod
    def from_string(cls, url: str) -> URL:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return cls(
            scheme=parts.scheme or "http",
            hostname=parts.hostname or "",
            port=parts.port,
            path=parts.path or "/",
            query=parts.query,
            fragment=parts.fragment,
        )

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> URL:
        scheme = scope.get("scheme", "http")
        server = scope.get("server")
        host_header = None
        for k, v in scope.get("headers", ()):
            if k == b"host":
                host_header = v.decode("latin-1")
                break
        hostname, port = "", None
        split = _split_host(host_header) if host_header else None
        if split is not None:
            hostname, port = split
        elif server:  # no Host header, or one that is not a host: the server's address
            hostname, port = server[0], server[1]
        default = 443 if scheme in ("https", "wss") else 80
        if port == default:
            port = None
        query = scope.get("query_string", b"").decode("latin-1")
        # The path as it was sent (still percent-encoded) if the server kept it;
        # else re-encode the decoded one, so "/a b" becomes "/a%20b" again.
        raw_path = scope.get("raw_path")
        if raw_path:
            path = raw_path.decode("latin-1")
        else:
            path = quote(scope["path"], safe="/:@!$&'()*+,;=~")
        if not path.startswith("/"):
            # A target like "@evil.example" or "evil.example/x" (no leading
            # "/") would, written after the host, become part of the authority:
            # "http://testserver@evil.example". Anchor it at the root.
            path = "/" + path
        return cls(scheme, hostname, port, path, query)

    @property
    def netloc(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{host}:{self.port}" if self.port is not None else host

    def replace(self, **changes: Any) -> URL:
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return URL(**values)

    def __str__(self) -> str:
        url = f"{self.scheme}://{self.netloc}{self.path}"
        if self.query:
            url += f"?{self.query}"
        if self.fragment:
            url += f"#{self.fragment}"
        return url

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URL | str):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))


# What a Host header's host part may hold (RFC 3986 reg-name, IPv4, and the
# inside of an IPv6 literal): none of "/", "?", "#", "@", "\\", spaces or controls,
# which would let it reach into the URL's path or userinfo.
_HOST_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;="
)


def _split_host(host: str) -> tuple[str, int | None] | None:
    """``"example.com:8000"`` -> ``("example.com", 8000)``; None if the header
    is not a host (then the URL uses the server's address instead)."""
    if host.startswith("["):  # IPv6 literal: [::1]:8000
        end = host.find("]")
        name, rest = host[1:end], host[end + 1 :]
        if end < 0 or not set(name) <= _HOST_CHARS | {":"}:
            return None
        if not rest:
            return name, None
        port = _port(rest[1:]) if rest.startswith(":") else None
        return (name, port) if port is not None else None
    name, sep, port_text = host.rpartition(":")
    if not sep:
        name, port = host, None
    elif not port_text:
        port = None  # "example.com:" - an empty port is allowed, and means the default
    else:
        port = _port(port_text)
        if port is None:
            return None
    if not name or not set(name) <= _HOST_CHARS:
        return None
    return name, port


def _port(text: str) -> int | None:
    """A port: 1 to 5 ASCII digits, at most 65535 (``"²".isdigit()`` is true)."""
    if 0 < len(text) <= 5 and text.isascii() and text.isdigit():
        port = int(text)
        return port if port <= 65535 else None
    return None


class State:
    """An object to hang arbitrary attributes on (``app.state``, ``request.state``).

    It writes through to a plain dict - for a request, ``scope["state"]`` - so
    pure-ASGI middleware that uses the dict (as the ASGI spec says) and code
    that uses attributes see the same values.
    """

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_values", values if values is not None else {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"state has no attribute {name!r}; set it first (e.g. in a startup hook "
                "or middleware)"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"State({self._values!r})"


def encode_query(params: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> str:
    """Build a query string; a list value becomes a repeated key."""
    pairs: list[tuple[str, str]] = []
    items = params.items() if isinstance(params, Mapping) else params
    for key, value in items:
        if isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return urlencode(pairs)
