"""Handlers: the functions jobs run, and how their parameters are filled.

A handler's first parameter receives the payload; every other parameter is
resolved by the app's dependency injection, exactly as an endpoint's would be
(``app.dependencies_scope()``: a provided type, ``Depends(...)``, settings),
minus what only a request has (query, headers, body). The plan is built once,
when the worker starts; per job only the values are made.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

import anyio.to_thread

from minimal_asgi import App, ConfigurationError


@dataclasses.dataclass
class Handler:
    name: str
    func: Callable[..., Any]
    max_attempts: int
    dependencies: Callable[..., Any]  # returns the keyword arguments for func

    async def call(self, app: App | None, payload: Any) -> None:
        kwargs: dict[str, Any] = {}
        if app is not None:
            async with app.dependencies_scope() as scope:
                kwargs = await scope.resolve(self.dependencies)
                await self._invoke(payload, kwargs)
        else:
            await self._invoke(payload, kwargs)

    async def _invoke(self, payload: Any, kwargs: dict[str, Any]) -> None:
        if inspect.iscoroutinefunction(self.func):
            await self.func(payload, **kwargs)
        else:  # a sync handler must not block the worker's event loop
            await anyio.to_thread.run_sync(lambda: self.func(payload, **kwargs))


def make_handler(name: str, func: Callable[..., Any], max_attempts: int) -> Handler:
    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
    ):
        raise ConfigurationError(
            f"job handler {name!r}: its first parameter receives the payload; "
            "give it one (e.g. `async def handler(payload: dict) -> None`)"
        )
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:
        hints = {}

    async def dependencies(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    # The injector reads a callable's signature and annotations: give this one
    # the handler's, less the payload, so it asks for what the handler asks for.
    rest = parameters[1:]
    dependencies.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=rest, return_annotation=inspect.Signature.empty)
    dependencies.__annotations__ = {p.name: hints[p.name] for p in rest if p.name in hints}
    dependencies.__qualname__ = f"{getattr(func, '__qualname__', name)} (job handler)"
    return Handler(name, func, max_attempts, dependencies)
