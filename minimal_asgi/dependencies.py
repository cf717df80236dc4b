"""How an endpoint is called: the plan, decided once at startup.

Reading a function's signature (``inspect.signature``, ``get_type_hints``) is
slow, and the answer never changes. So when the app starts, each endpoint's
parameters are read once and turned into a *call plan*: a small function that,
per request, only fills in values - path parameters by name, the ``Request`` by
annotation. The dependency-injection layer extends these same plans.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from minimal_asgi.concurrency import is_async_callable
from minimal_asgi.exceptions import ConfigurationError
from minimal_asgi.requests import Request

__all__ = ["CallPlan", "build_call_plan", "describe_callable"]

Invoke = Callable[[Request | None, Sequence[Any]], Awaitable[Any]]


def describe_callable(func: Callable[..., Any]) -> str:
    """``name (file.py:12)``: how configuration errors point at user code."""
    code = getattr(inspect.unwrap(func), "__code__", None)
    name = getattr(func, "__qualname__", repr(func))
    if code is None:
        return name
    filename = code.co_filename.rsplit("/", 1)[-1]
    return f"{name} ({filename}:{code.co_firstlineno})"


@dataclass(frozen=True, slots=True)
class CallPlan:
    """What the router needs to know to call one endpoint."""

    invoke: Invoke
    needs_request: bool
    description: str


def _signature(func: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, Any]]:
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:
        target = func if inspect.isfunction(func) else getattr(func, "__call__", func)  # noqa: B004
        hints = dict(getattr(target, "__annotations__", {}))
    return signature, hints


def _is_request_annotation(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Request)


def build_call_plan(endpoint: Callable[..., Any], path_params: Sequence[str]) -> CallPlan:
    """Decide how ``endpoint`` is called, given the route's path parameter names."""
    signature, hints = _signature(endpoint)
    described = describe_callable(endpoint)
    # Each parameter becomes a getter: (request, path_values) -> value.
    getters: list[tuple[str, Callable[[Request | None, Sequence[Any]], Any]]] = []
    needs_request = False
    positional_path_order: list[int] = []
    all_positional = True
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(parameter.name, parameter.annotation)
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"{described}: positional-only parameter {parameter.name!r} cannot be filled "
                "by name; remove the '/'"
            )
        if parameter.name in path_params:
            index = list(path_params).index(parameter.name)
            getters.append((parameter.name, _path_getter(index)))
            positional_path_order.append(index)
        elif _is_request_annotation(annotation):
            needs_request = True
            getters.append((parameter.name, _request_getter))
            all_positional = False
        elif parameter.default is not parameter.empty:
            continue  # not ours to fill: the default applies
        else:
            raise ConfigurationError(
                f"{described}: parameter {parameter.name!r} is not a path parameter "
                f"(the path has {list(path_params) or 'none'}) and has no default. "
                "Add it to the path, give it a default, or annotate it as Request."
            )
        if parameter.kind is parameter.KEYWORD_ONLY:
            all_positional = False

    is_async = is_async_callable(endpoint)
    if not getters:
        invoke = _invoke_no_args(endpoint, is_async)
    elif all_positional and positional_path_order == list(range(len(path_params))):
        invoke = _invoke_path_values(endpoint, is_async)
    else:
        invoke = _invoke_keywords(endpoint, is_async, getters)
    return CallPlan(invoke=invoke, needs_request=needs_request, description=described)


def _path_getter(index: int) -> Callable[[Request | None, Sequence[Any]], Any]:
    def get(request: Request | None, values: Sequence[Any]) -> Any:
        return values[index]

    return get


def _request_getter(request: Request | None, values: Sequence[Any]) -> Any:
    return request


# The three shapes of call. Choosing one at startup means the common cases (no
# arguments; exactly the path values) pay for no dict building per request.
def _invoke_no_args(endpoint: Callable[..., Any], is_async: bool) -> Invoke:
    if is_async:

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            return await endpoint()
    else:

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            return await anyio.to_thread.run_sync(endpoint)

    return invoke


def _invoke_path_values(endpoint: Callable[..., Any], is_async: bool) -> Invoke:
    if is_async:

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            return await endpoint(*values)
    else:

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            return await anyio.to_thread.run_sync(endpoint, *values)

    return invoke


def _invoke_keywords(
    endpoint: Callable[..., Any],
    is_async: bool,
    getters: list[tuple[str, Callable[[Request | None, Sequence[Any]], Any]]],
) -> Invoke:
    def call_sync(kwargs: dict[str, Any]) -> Any:
        return endpoint(**kwargs)

    async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
        kwargs = {name: get(request, values) for name, get in getters}
        if is_async:
            return await endpoint(**kwargs)
        return await anyio.to_thread.run_sync(call_sync, kwargs)

    return invoke
