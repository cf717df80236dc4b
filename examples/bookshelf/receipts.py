"""The receipt job: after a loan, a worker mails the member a receipt.

The request that made the loan only enqueues this (``jobs.enqueue``) and
answers 201; a worker - inside the web process (``embedded_workers``) or a
process of its own (``python -m minimal_asgi_jobs worker
examples.bookshelf.app:jobs``) - runs it. If the mailer fails, the job is
tried again after a growing pause, up to ``max_attempts`` times, then kept in
the dead letters for a person to look at.

Delivery is at least once: a worker that dies after sending, before
acknowledging, means the job runs again. ``mark_receipt_sent`` makes the
second run a no-op on the database; the mail itself could go twice, which is
the usual trade (a mail provider's own idempotency key would close it).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from minimal_asgi import Depends
from minimal_asgi_jobs import Jobs
from minimal_asgi_sql import Database

from .dependencies import get_mailer
from .mail import Mailer
from .repositories import BookRepository, LoanRepository, UserRepository

logger = logging.getLogger("examples.bookshelf.receipts")

MAX_ATTEMPTS = 5


def register(jobs: Jobs) -> None:
    @jobs.handler("send_receipt", max_attempts=MAX_ATTEMPTS)
    async def send_receipt(
        payload: dict[str, Any], db: Database, mailer: Annotated[Mailer, Depends(get_mailer)]
    ) -> None:
        loans = LoanRepository(db)
        loan = await loans.get(payload["loan_id"])
        if loan is None or loan["receipt_sent_at"] is not None:
            return  # deleted since, or sent by an earlier run: nothing to do
        user = await UserRepository(db).by_id(loan["user_id"])
        book = await BookRepository(db).get(loan["book_id"])
        if user is None or book is None:
            return
        # Raising here (the mailer is down) makes the queue try again later.
        await mailer.send(user["email"], f"You borrowed {book['title']}",
                          f"Loan {loan['id']}: {book['title']} by {book['author']}.")
        logger.info("receipt sent for loan %s", loan["id"], extra={"loan_id": loan["id"]})
        await loans.mark_receipt_sent(loan["id"])
