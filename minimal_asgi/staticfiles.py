"""Static files: an ASGI app that serves a directory, and nothing outside it.

Mounted with ``app.mount("/static", StaticFiles(directory="static"))``, it gets
every request under ``/static``. The router has set ``root_path`` to the mount
point (routing.py, ``Mount``), so the part of the path after it names a file
in ``directory``; ``FileResponse`` (files.py) then sends it, with ``ETag``,
``Last-Modified``, ``Range`` and ``HEAD`` support.

The one job that is this module's own is to make sure the name from the
request leads to a file *inside* the directory. The name is attacker input,
and every well-known static-file server has had a hole here (aiohttp
CVE-2024-23334, Starlette CVE-2023-29159, Litestar CVE-2024-32982). So a name
passes two checks, each of which is enough on its own:

1. **The name, as text** (``safe_parts``): split on ``/``; refuse ``..``,
   ``.``, empty segments (``//``, an absolute path), a backslash (a separator on
   Windows), a NUL or other control character, a drive or UNC prefix, a
   segment longer than a file name may be. The path is *already* percent-decoded
   by the server, once; decoding it again would turn ``%252e`` into ``.``.
2. **The file, as the OS sees it** (``_resolve``): the real path, with every
   symbolic link followed, must be the directory or lie below it - compared
   segment by segment, so ``static1`` is not inside ``static``. A link that
   leaves the directory is refused unless ``follow_symlink=True``.

Every refusal is the same ``404``: telling "forbidden" from "missing" would let
a client map the disk outside the directory.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Sequence
from urllib.parse import quote

import anyio.to_thread

from minimal_asgi.errors import ProblemResponse
from minimal_asgi.exceptions import ConfigurationError, HTTPException
from minimal_asgi.files import FileResponse
from minimal_asgi.responses import RedirectResponse, Response, without_body
from minimal_asgi.types import Receive, Scope, Send

__all__ = ["StaticFiles", "safe_parts"]

# Linux's NAME_MAX and PATH_MAX: longer cannot be a name, so it is a 404 at
# once, before the OS is asked (and answers ENAMETOOLONG from a worker thread).
MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 4096
_NOT_FOUND = "The requested file does not exist."
# What no segment of a name may contain: a separator of some OS, or a
# character no sane file name has (C0 controls, DEL). ":" would be a drive
# ("C:") or an NTFS stream ("a.txt:secret") on Windows.
_FORBIDDEN = frozenset("\\:" + "".join(map(chr, range(32))) + "\x7f")


def safe_parts(relative: str) -> list[str] | None:
    """The segments of ``relative`` (a decoded URL path below the mount), or
    ``None`` if it cannot name a file in the directory.

    ``""`` and ``"/"`` give ``[]`` (the directory itself). A trailing ``/`` is
    allowed (a directory); any other empty segment is not.
    """
    if len(relative.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return None
    text = relative[1:] if relative.startswith("/") else relative
    if text.endswith("/"):
        text = text[:-1]
    if not text:
        return []
    parts = text.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            return None
        if not _FORBIDDEN.isdisjoint(part):
            return None
        try:
            encoded = part.encode("utf-8")  # a lone surrogate names no file
        except UnicodeEncodeError:
            return None
        if len(encoded) > MAX_SEGMENT_BYTES:
            return None
    return parts


def _inside(root: str, path: str) -> bool:
    """Is ``path`` the directory ``root`` or below it? Whole segments only:
    ``/srv/static1`` is not below ``/srv/static`` (CVE-2023-29159)."""
    return path == root or path.startswith(root + os.sep)


class StaticFiles:
    """Serve the files under ``directory`` to GET and HEAD requests.

    - ``html=True``: a directory answers with its ``index.html`` (a path
      without the trailing slash is first redirected to one, so relative links
      in the page work), and a missing file with ``404.html`` if there is one.
      Without it, a directory is a 404.
    - ``follow_symlink=True``: serve what a symbolic link points at even when
      that is outside ``directory`` (the names in the URL are still checked).
      Off by default: a link to ``/etc`` dropped into the directory by a
      deployment script would otherwise publish it.
    - ``cache_control``: the ``Cache-Control`` of every file sent; ``None``
      for none. With fingerprinted names (``app.3f2a.css``), use
      ``"public, max-age=31536000, immutable"``.
    - ``check_dir``: refuse to start if ``directory`` is not a directory.

    Every refusal is a ``404`` problem; a method other than GET or HEAD, a
    ``405`` with ``Allow``. It answers errors itself (it is a plain ASGI app,
    usable without the router), so exception handlers of the app do not see
    them. Only ``http`` scopes are served; mounted, it never sees lifespan.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        html: bool = False,
        follow_symlink: bool = False,
        cache_control: str | None = "public, max-age=3600",
        check_dir: bool = True,
        chunk_size: int = 64 * 1024,
    ) -> None:
        # Resolved once: every per-request check compares against this.
        self.directory = os.path.realpath(os.fspath(directory))
        if check_dir and not os.path.isdir(self.directory):
            raise ConfigurationError(
                f"StaticFiles(directory={os.fspath(directory)!r}): no such directory; "
                "create it, or pass check_dir=False if it appears later"
            )
        self.html = html
        self.follow_symlink = follow_symlink
        self.chunk_size = chunk_size
        self.headers = {"cache-control": cache_control} if cache_control else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; the server answers the handshake 403
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return  # lifespan (when used as the whole app): nothing to start
        try:
            response = await self._response_for(scope)
        except HTTPException as exc:
            response = ProblemResponse(exc.status_code, exc.detail, headers=exc.headers or None)
        if scope["method"] == "HEAD" and not isinstance(response, FileResponse):
            # The GET answer's status and headers, no body (FileResponse does this itself).
            send = without_body(send)
        await response(scope, receive, send)

    async def _response_for(self, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(
                405, f"{scope['method']} is not allowed on static files", {"allow": "GET, HEAD"}
            )
        relative = _below_root_path(scope)
        parts = safe_parts(relative)
        if parts is None:
            raise HTTPException(404, _NOT_FOUND)
        found = await anyio.to_thread.run_sync(self._lookup, parts)
        if found is None:
            return await self._not_found()
        path, info = found
        if stat_module.S_ISDIR(info.st_mode):
            if not self.html:
                return await self._not_found()
            if not relative.endswith("/"):
                # ".../docs" -> ".../docs/": the page's relative links resolve
                # against the directory, as they would on any web server.
                target = scope.get("root_path", "") + relative + "/"
                query = scope.get("query_string", b"").decode("latin-1")
                return RedirectResponse(quote(target) + (f"?{query}" if query else ""), 307)
            index = await anyio.to_thread.run_sync(self._lookup, [*parts, "index.html"])
            if index is None or not stat_module.S_ISREG(index[1].st_mode):
                return await self._not_found()
            path, info = index
        return FileResponse(
            path, headers=self.headers, chunk_size=self.chunk_size, stat_result=info
        )

    async def _not_found(self) -> Response:
        if self.html:
            page = await anyio.to_thread.run_sync(self._lookup, ["404.html"])
            if page is not None and stat_module.S_ISREG(page[1].st_mode):
                return FileResponse(page[0], status_code=404, stat_result=page[1])
        raise HTTPException(404, _NOT_FOUND)

    def _lookup(self, parts: Sequence[str]) -> tuple[str, os.stat_result] | None:
        """The file's real path and stat, if it may be served (a worker thread)."""
        candidate = os.path.join(self.directory, *parts)
        try:
            real = os.path.realpath(candidate, strict=True)
            if not self.follow_symlink and not _inside(self.directory, real):
                return None  # a symbolic link on the way leads out of the directory
            info = os.stat(real)
        except (OSError, ValueError):
            return None  # missing, a loop of links, a name too long, unreadable
        if self.follow_symlink:
            real = candidate  # the name was checked; where its links lead is allowed
        if stat_module.S_ISREG(info.st_mode) or stat_module.S_ISDIR(info.st_mode):
            return real, info
        return None  # a FIFO, a socket, a device: never something to send


def _below_root_path(scope: Scope) -> str:
    """The path after the mount point. ``path`` includes ``root_path`` (the
    ASGI spec); a server that leaves it out gets the path as it is."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        rest = path[len(root_path) :]
        if not rest or rest[0] == "/":
            return rest
    return path
