"""The uvicorn entry point of the over-the-wire benchmarks.

``BENCH_APP=<apps module>:<framework>:<case>`` names the app, for example
``BENCH_APP=overhead:starlette:json uvicorn --factory benchmarks.serve:create``.
A factory (rather than a module-level app) lets one entry point serve every
framework and case, in one worker or several.
"""

import importlib
import os
from typing import Any


def create() -> Any:
    module, framework, case = os.environ["BENCH_APP"].split(":", 2)
    apps = importlib.import_module(f"benchmarks.apps.{module}")
    return apps.build(framework, case)
