"""Exercise 24, solved: user text escaped; only http(s) links become links."""

from html import escape
from urllib.parse import urlsplit


def render_note(title: str, body: str, link: str = "") -> str:
    body_html = escape(body, quote=True).replace("\n", "<br>")  # escape first, then add our tag
    link_html = ""
    if urlsplit(link.strip()).scheme.lower() in ("http", "https"):
        link_html = f'<a href="{escape(link.strip(), quote=True)}" rel="nofollow noopener">link</a>'
    return f"<article><h2>{escape(title, quote=True)}</h2><p>{body_html}</p>{link_html}</article>"
