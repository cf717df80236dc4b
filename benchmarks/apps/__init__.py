"""The apps the benchmarks measure: the same endpoints written for each framework.

Each module has a ``build(framework, case)`` that returns an ASGI app, or raises
``Unavailable`` with the reason (a framework not installed, a feature not there yet).
Read them side by side: they are also a small lesson in how the frameworks differ.
"""
