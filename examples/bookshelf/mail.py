"""Sending mail, as far as this example goes: a line in the log.

A real mailer (SMTP, an e-mail API) is a network call that fails now and
then. That is why it runs in a job, not in the request: the member gets the
loan at once, and the job queue retries the receipt until it goes out.
"""

from __future__ import annotations

import logging
from typing import Protocol

logger = logging.getLogger("examples.bookshelf.mail")


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class LogMailer:
    """Writes each message to the log instead of sending it."""

    async def send(self, to: str, subject: str, body: str) -> None:
        logger.info("mail to %s: %s", to, subject, extra={"to": to, "subject": subject,
                                                         "body": body})
