# syntax=docker/dockerfile:1
# The image every deployment file here runs (docs/30-containers-and-ci.md).
#
#   docker build -t minimal-asgi .
#   docker run --rm -p 8000:8000 minimal-asgi           # the blog, on SQLite
#   docker run --rm -p 8000:8000 minimal-asgi uvicorn examples.todo.app:app
#
# Two stages: the first builds wheels (it has pip, setuptools and whatever a
# build needs); the second installs only those wheels. Nothing used to build
# ends up in what runs.

# -- stage 1: build wheels for the core, every plugin and their dependencies ----------
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
# Only what .dockerignore lets in: pyproject.toml, README.md, LICENSE, the core,
# the plugins and the examples. Copy the package files first, so a change to an
# example does not rebuild the wheels.
COPY pyproject.toml README.md LICENSE ./
COPY minimal_asgi/ minimal_asgi/
COPY plugins/ plugins/
# A dependency without a wheel for this platform would need a compiler here
# (apt-get install build-essential): here, never in the final stage.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[uvicorn]" plugins/minimal_asgi_*

# -- stage 2: what runs ------------------------------------------------------------------
FROM python:3.11.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="minimal-asgi" \
      org.opencontainers.image.licenses="MIT"
# The wheels are mounted for this one step, never copied: no layer keeps them.
# Then pip goes too: the running image installs nothing.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl \
    && pip uninstall --yes pip setuptools wheel
# A user without a shell or home, with a fixed numeric id, so Kubernetes'
# runAsNonRoot can check it (a name cannot be checked).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
# Owned by root, read-only to the app: code the process could rewrite is code an
# attacker could rewrite.
COPY examples/ examples/
# No .pyc files (the root file system may be read-only); logs straight out.
# uvicorn reads UVICORN_<OPTION> variables; a platform may set UVICORN_PORT,
# and WEB_CONCURRENCY for the number of worker processes.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UVICORN_HOST=0.0.0.0 \
    UVICORN_PORT=8000
USER 10001:10001
EXPOSE 8000
# Python's own urllib: no curl in the image. A non-2xx answer raises, so exits 1.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('UVICORN_PORT', '8000'), timeout=2)"]
# Exec form: uvicorn is PID 1 and receives SIGTERM itself (a shell in between
# would swallow it), finishes the requests in flight, runs the shutdown hooks.
# A CMD and no ENTRYPOINT: every platform's "command" (compose, Kubernetes, a
# Fly release_command, a Render preDeployCommand) replaces it whole.
CMD ["uvicorn", "examples.blog.app:app", "--timeout-graceful-shutdown", "20"]
