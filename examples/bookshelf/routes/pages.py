"""A small HTML page, signed in with a session cookie.

A browser page on this origin does not juggle tokens: ``POST /session``
(the form on ``/``) checks the password and sets an ``HttpOnly`` session
cookie; the server keeps the session (in memory, or Redis for several
workers) and ``DELETE /session`` - the form's "sign out" - ends it there.
Cookies ride along on requests other sites' pages make, so the app refuses
state-changing requests a browser marks as cross-origin (``CSRFMiddleware``,
installed in app.py).
"""

from __future__ import annotations

import html

from minimal_asgi import App, Depends, Form, HTMLResponse, RedirectResponse, Request, Response
from minimal_asgi_auth import Principal

from ..dependencies import Accounts, Catalogue, Lending
from ..services import roles_of
from . import Parts


def register(app: App, parts: Parts) -> None:
    sessions, auth = parts.sessions, parts.auth

    @app.get("/", include_in_schema=False)
    async def home(catalogue: Catalogue, lending: Lending,
                   user: Principal | None = Depends(auth.optional_user)) -> HTMLResponse:
        books, _ = await catalogue.page(sort="newest", after=None, limit=10)
        items = "".join(f"<li>{html.escape(b['title'])} - {html.escape(b['author'])} "
                        f"({b['available']}/{b['copies']} on the shelf)</li>" for b in books)
        if user is None:
            who = ('<form method="post" action="/session">'
                   '<input name="email" type="email" placeholder="e-mail" required> '
                   '<input name="password" type="password" placeholder="password" required> '
                   '<button>Sign in</button></form>')
        else:
            loans = await lending.loans_of(int(user.subject))
            open_loans = sum(1 for loan in loans if loan["returned_at"] is None)
            who = (f"<p>Signed in as user {html.escape(user.subject)} "
                   f"({', '.join(sorted(user.roles))}); {open_loans} book(s) on loan.</p>"
                   '<form method="post" action="/session/end"><button>Sign out</button></form>')
        page = (f"<!doctype html><title>Bookshelf</title><h1>Bookshelf</h1>{who}"
                f"<h2>New books</h2><ul>{items}</ul>")
        return HTMLResponse(page)

    # The page and its two forms answer browsers (HTML, redirects), not API
    # clients: they are left out of the OpenAPI document.
    @app.post("/session", status_code=303, include_in_schema=False)
    async def session_login(request: Request, accounts: Accounts, email: str = Form(),
                            password: str = Form()) -> Response:
        """Sign a browser in: a new session id in an HttpOnly cookie, then back to ``/``."""
        user = await accounts.check(email[:254], password[:256])
        if user is None:
            return HTMLResponse('<p>Wrong e-mail or password. <a href="/">Try again</a>.</p>',
                                status_code=401)
        response = RedirectResponse("/", status_code=303)
        # A new id at every sign-in (replacing=request ends the old session):
        # an id planted before sign-in is worthless after it (session fixation).
        await sessions.login(response, str(user["id"]), {"roles": roles_of(user["role"])},
                             replacing=request)
        return response

    @app.post("/session/end", status_code=303, include_in_schema=False)
    async def session_logout(request: Request) -> Response:
        """Sign the browser out: the session ends on the server, the cookie is cleared."""
        response = RedirectResponse("/", status_code=303)
        await sessions.logout(request, response)
        return response

