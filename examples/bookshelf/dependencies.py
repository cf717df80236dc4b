"""The wiring: each layer injected into the next.

Routes ask for a service (``catalogue: Catalogue``); the service's factory
asks for its repositories; each repository's factory asks for the
``Database`` the SQL plugin provides. A test swaps any link of that chain
with ``app.dependency_overrides[get_books] = lambda: FakeBooks()``.

They are ``async def`` though they do not wait: a sync dependency would run
in a worker thread, which costs more than building these small objects.
"""

from __future__ import annotations

from typing import Annotated

from minimal_asgi import Depends
from minimal_asgi_auth import Principal, passwords
from minimal_asgi_sql import Database

from .mail import LogMailer, Mailer
from .repositories import (
    AuthorRepository,
    BookRepository,
    LoanRepository,
    ReviewRepository,
    UserRepository,
)
from .services import AccountService, CatalogueService, LendingService, ReviewService
from .settings import BookshelfSettings


async def get_users(db: Database) -> UserRepository:
    return UserRepository(db)


async def get_authors(db: Database) -> AuthorRepository:
    return AuthorRepository(db)


async def get_books(db: Database) -> BookRepository:
    return BookRepository(db)


async def get_loans(db: Database) -> LoanRepository:
    return LoanRepository(db)


async def get_reviews(db: Database) -> ReviewRepository:
    return ReviewRepository(db)


async def get_accounts(
    users: Annotated[UserRepository, Depends(get_users)],
    hasher: passwords.Hasher,
    settings: BookshelfSettings,
) -> AccountService:
    return AccountService(users, hasher, {email.lower() for email in settings.admin_emails})


async def get_catalogue(
    db: Database,
    authors: Annotated[AuthorRepository, Depends(get_authors)],
    books: Annotated[BookRepository, Depends(get_books)],
) -> CatalogueService:
    return CatalogueService(db, authors, books)


async def get_lending(
    db: Database,
    books: Annotated[BookRepository, Depends(get_books)],
    loans: Annotated[LoanRepository, Depends(get_loans)],
) -> LendingService:
    return LendingService(db, books, loans)


async def get_review_service(
    books: Annotated[BookRepository, Depends(get_books)],
    reviews: Annotated[ReviewRepository, Depends(get_reviews)],
) -> ReviewService:
    return ReviewService(books, reviews)


_LOG_MAILER = LogMailer()


async def get_mailer() -> Mailer:
    """Where receipts go: the log. A test overrides this with a failing one."""
    return _LOG_MAILER


async def user_id(user: Principal) -> int:
    """The signed-in user's id (the token's ``sub``, a string)."""
    return int(user.subject)


async def by_user(user: Principal) -> str:
    """Whose quota a write spends: the user's, wherever they write from."""
    return f"user:{user.subject}"


Accounts = Annotated[AccountService, Depends(get_accounts)]
Catalogue = Annotated[CatalogueService, Depends(get_catalogue)]
Lending = Annotated[LendingService, Depends(get_lending)]
Reviews = Annotated[ReviewService, Depends(get_review_service)]
UserId = Annotated[int, Depends(user_id)]
