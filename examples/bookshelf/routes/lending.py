"""Loans and reviews: what members do.

``POST /books/{id}/loans`` is the race of this app: when two members borrow
the last copy at the same moment, exactly one gets 201 and the other 409 -
the decision is one conditional UPDATE in the database (repositories.py,
``take_copy``), not a read in Python followed by a write. After the loan is
committed, a job mails the receipt (receipts.py): the answer does not wait
for the mail, and a failing mailer is retried.

``GET /reports/loans`` is for a machine client with an API key (scope
``loans:read``): a key carries scopes, not a person's roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from minimal_asgi import App, Ge, Le, MaxLen, MinLen, Pattern
from minimal_asgi_sql import Database, count, select

from ..dependencies import Lending, Reviews, UserId, by_user
from ..schema import loans
from . import Parts

Limit = Annotated[int, Ge(1), Le(100)]
BigInt = Annotated[int, Ge(1), Le(2**63 - 1)]


@dataclass
class NewReview:
    rating: Annotated[int, Ge(1), Le(5)]
    body: Annotated[str, Pattern(r"[^\x00]*"), MinLen(1), MaxLen(5000)]


def register(app: App, parts: Parts) -> None:
    auth, jobs = parts.auth, parts.jobs
    member = auth.requires("member")
    writes = parts.limiter.limit(parts.settings.write_limit, key=by_user, name="writes")

    @app.post("/books/{book_id:int}/loans", status_code=201, dependencies=[member, writes],
              idempotency=True, responses={404: "There is no book with that id.",
                                           409: "Every copy is on loan."})
    async def borrow(book_id: int, lending: Lending, me: UserId) -> dict[str, Any]:
        """Borrow a copy. The receipt is mailed by a job, after this answer."""
        loan = await lending.borrow(book_id, me)
        # Enqueued after the commit: a worker never looks for a loan that is
        # not there yet. The key makes a second enqueue for this loan a no-op.
        await jobs.enqueue("send_receipt", {"loan_id": loan["id"]},
                           idempotency_key=f"receipt-{loan['id']}")
        return loan

    @app.get("/loans", dependencies=[member])
    async def my_loans(lending: Lending, me: UserId) -> list[dict[str, Any]]:
        """Your loans, newest first."""
        return await lending.loans_of(me)

    @app.get("/loans/{loan_id:int}", dependencies=[member],
             responses={404: "You have no loan with that id."})
    async def read_loan(loan_id: int, lending: Lending, me: UserId) -> dict[str, Any]:
        """One of your loans; ``receipt_sent_at`` is set once the receipt job ran."""
        return await lending.loan(loan_id, me)

    @app.post("/loans/{loan_id:int}/return", dependencies=[member, writes],
              responses={404: "You have no loan with that id.",
                         409: "It was returned already."})
    async def give_back(loan_id: int, lending: Lending, me: UserId) -> dict[str, Any]:
        """Return a loan: the copy goes back on the shelf."""
        return await lending.give_back(loan_id, me)

    @app.get("/books/{book_id:int}/reviews", responses={404: "There is no book with that id."})
    async def list_reviews(book_id: int, reviews: Reviews, after: BigInt | None = None,
                           limit: Limit = 20) -> dict[str, Any]:
        """A book's reviews, oldest first; pass ``next`` back as ``after``."""
        items, following = await reviews.of_book(book_id, after=after, limit=limit)
        return {"items": items, "next": following}

    @app.post("/books/{book_id:int}/reviews", status_code=201, dependencies=[member, writes],
              idempotency=True, responses={404: "There is no book with that id.",
                                           409: "You reviewed this book already."})
    async def add_review(book_id: int, body: NewReview, reviews: Reviews,
                         me: UserId) -> dict[str, Any]:
        """Review a book (one review per member and book)."""
        return await reviews.add(book_id, me, body.rating, body.body)

    @app.get("/reports/loans", dependencies=[auth.requires_scopes("loans:read")])
    async def loans_report(db: Database) -> dict[str, int]:
        """Loan counts for a machine client (an API key with the loans:read scope)."""
        total = await db.fetch_val(select(count(loans.c.id)))
        open_ = await db.fetch_val(select(count(loans.c.id)).where(loans.c.returned_at.is_null()))
        return {"loans": int(total), "on_loan": int(open_)}
