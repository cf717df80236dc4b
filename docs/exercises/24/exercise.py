"""Exercise 24: escape user text in HTML; allow only http(s) links. See README.md."""


def render_note(title: str, body: str, link: str = "") -> str:
    # TODO: everything here is pasted in as it came.
    body_html = body.replace("\n", "<br>")
    link_html = f'<a href="{link}" rel="nofollow noopener">link</a>' if link else ""
    return f"<article><h2>{title}</h2><p>{body_html}</p>{link_html}</article>"
