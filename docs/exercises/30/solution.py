"""Exercise 30, solved: the notes app's Dockerfile, fit to run."""

DOCKERFILE = """\
# -- build: wheels for the app's dependencies (pip and its caches stay here)
FROM python:3.11.11-slim-bookworm AS build
RUN pip wheel --no-cache-dir --wheel-dir /wheels minimal-asgi minimal-asgi-sql uvicorn

# -- runtime: only the wheels, installed, and the app
FROM python:3.11.11-slim-bookworm AS runtime
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \\
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl
RUN groupadd --system --gid 10001 app \\
    && useradd --system --uid 10001 --gid app --no-create-home app
WORKDIR /app
COPY app.py ./
# Settings, secrets included, come from the environment at `docker run` time.
ENV PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s \\
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/notes')"]
# Exec form: uvicorn is PID 1 and gets SIGTERM itself.
CMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]
"""
