"""Exercise 30: fix the notes app's Dockerfile. See README.md."""

DOCKERFILE = """\
FROM python:latest
WORKDIR /app
ENV NOTES_SECRET_KEY=dev-secret-do-not-ship
COPY . .
RUN pip install --no-cache-dir minimal-asgi minimal-asgi-sql uvicorn
EXPOSE 8000
CMD uvicorn app:app --host 0.0.0.0 --port 8000
"""
