"""A plan of plain async dependencies, written out at startup as one coroutine.

resolution.py resolves any plan by walking it per request: for each
dependency a ``Context.call`` coroutine checks the overrides and the cache,
loops over the sources, then calls the function. For the commonest plan -
async functions whose arguments are all other async functions'
results, ``Depends(...)`` all the way down - every step of that walk is known
at startup. So this module writes the walk out as the source of one coroutine
and compiles it. For ``endpoint(a=Depends(dep_a))``, ``dep_a(b=Depends(dep_b))``,
``dep_b(c=Depends(dep_c))``::

    async def run(request):
        v0 = await call_0()        # dep_c
        v1 = await call_1(c=v0)    # dep_b
        v2 = await call_2(b=v1)    # dep_a
        return await endpoint(a=v2)

An endpoint may also take the JSON body (``item: Item``): the walk's own
``read_json_body`` reads it, and the errors go into one 422 after the
dependencies are called, as the walk does. The calls come in the order the
walk makes them (each dependency's own dependencies first, in parameter
order), and a dependency asked for twice is
called once and its value passed to both (the per-request cache), unless
``use_cache=False`` asked for a fresh call. What the walk does and this does
not - overrides, tracing spans - the handler leaves to the walk
(handlers.py's ``dependencies_handler``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from minimal_asgi.dependencies import BodySource, Dependant, DependsSource
from minimal_asgi.resolution import read_json_body
from minimal_asgi.validation import RequestValidationError

__all__ = ["compile_plain_plan"]

Run = Callable[..., Awaitable[Any]]


def is_plain(dependant: Dependant) -> bool:
    """Async, no guards, every argument another plain dependency's result."""
    return (
        dependant.kind == "async"
        and not dependant.guards
        and all(
            type(source) is DependsSource and is_plain(source.dependant)
            for source in dependant.sources
        )
    )


def is_plain_endpoint(endpoint: Dependant) -> bool:
    """A plain plan, except that the endpoint may also take the JSON body."""
    return (
        endpoint.kind == "async"
        and not endpoint.guards
        and all(
            type(source) is BodySource
            or (type(source) is DependsSource and is_plain(source.dependant))
            for source in endpoint.sources
        )
    )


def compile_plain_plan(endpoint: Dependant) -> Run | None:
    """``run(request)`` -> what the endpoint returned (or a 422 raised), or None
    if the plan is not plain."""
    if not endpoint.sources or not is_plain_endpoint(endpoint):
        return None  # nothing to resolve, or something the walk must do
    namespace: dict[str, Any] = {
        "RequestValidationError": RequestValidationError, "read_json_body": read_json_body,
    }
    has_body = any(type(source) is BodySource for source in endpoint.sources)
    lines = ["async def run(request):"] + (["    errors = []"] if has_body else [])
    cached: dict[Any, str] = {}  # function -> the variable holding its value
    counter = iter(range(1_000_000))  # v0, v1, ...: one per value read or computed

    def emit(dependant: Dependant) -> str:
        """Lines that call ``dependant``; the expression of its arguments."""
        arguments = []
        for source in dependant.sources:
            if type(source) is BodySource:  # the endpoint's JSON body
                index = next(counter)
                namespace[f"body_{index}"] = source
                lines.append(f"    v{index} = await read_json_body(request, body_{index}, errors)")
                arguments.append(f"{source.name}=v{index}")
                continue
            sub = source.dependant  # type: ignore[attr-defined]  # all DependsSource
            call = sub.call
            variable = cached.get(call) if sub.use_cache else None
            if variable is None:
                inner = emit(sub)
                index = next(counter)
                variable, function = f"v{index}", f"call_{index}"
                namespace[function] = call
                lines.append(f"    {variable} = await {function}({inner})")
                if sub.use_cache:
                    cached[call] = variable
            arguments.append(f"{source.name}={variable}")
        return ", ".join(arguments)

    arguments = emit(endpoint)
    namespace["endpoint"] = endpoint.call
    if has_body:
        # As the walk: every dependency called, then every error in one 422.
        lines += ["    if errors:", "        raise RequestValidationError(errors)"]
    lines.append(f"    return await endpoint({arguments})")
    source = "\n".join(lines)
    code = compile(source + "\n", f"<dependencies of {endpoint.description}>", "exec")
    exec(code, namespace)  # our own source, of parameter names

    run: Run = namespace["run"]
    run.source = source  # type: ignore[attr-defined]  # for a curious reader
    return run
