"""The ``Idempotency-Key`` field: a Structured Field Item whose value is a String.

The draft (draft-ietf-httpapi-idempotency-key-header, section 2.1) makes the
field an Item Structured Header (RFC 8941) whose bare item MUST be a String::

    Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"

So the value is parsed as RFC 8941 section 4.2 says to parse an Item: strip
the spaces around it, read one bare item, then its parameters (``;name=value``,
allowed on any Item and ignored here, as the RFC tells a parser to do with
parameters it does not know), and fail if anything is left over. A bare item
that is not a String - a token ``abc``, a number, a bare UUID, which is not
valid Structured Field syntax at all - is refused, with the fix in the message.

Written by hand, without a Structured Fields library, so that the whole path
from bytes to key can be read here; tests/plugins/idempotency/test_header.py
checks it against the ``http-sf`` library with hypothesis.
"""

from __future__ import annotations

import base64
import re
import string

__all__ = ["InvalidKey", "parse_key", "parse_sf_string"]

_LCALPHA = frozenset(string.ascii_lowercase)
_DIGITS = frozenset(string.digits)
_ALPHA = frozenset(string.ascii_letters)
_TCHAR = frozenset("!#$%&'*+-.^_`|~") | _DIGITS | _ALPHA
_KEY_CHARS = _LCALPHA | _DIGITS | frozenset("_-.*")
_BASE64 = frozenset(string.ascii_letters + string.digits + "+/=")
# PERF: nearly every key is a plain quoted string (a UUID): one regex match reads
# it in well under a microsecond; anything else (escapes, parameters, errors)
# goes through the parser below, character by character.
_PLAIN_STRING = re.compile(r' *"([ !#-\[\]-~]*)" *')


class InvalidKey(ValueError):
    """The field is not a valid Idempotency-Key; the message says why and what to send."""


class _Parser:
    """RFC 8941 section 4.2, for one Item: a cursor over the field's characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def fail(self, why: str) -> InvalidKey:
        return InvalidKey(f"{why} at character {self.at + 1}")

    def item(self) -> str:
        if self.peek() != '"':
            raise InvalidKey(
                "the value must be a quoted string (a Structured Field String, RFC 8941): "
                'send Idempotency-Key: "<your key>"'
            )
        value = self.string()
        self.parameters()
        return value

    def bare_item(self) -> object:
        char = self.peek()
        if char == "-" or char in _DIGITS:
            return self.number()
        if char == '"':
            return self.string()
        if char == "*" or char in _ALPHA:
            return self.token()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            return self.boolean()
        raise self.fail(f"unexpected {char!r}" if char else "a value is missing")

    def string(self) -> str:
        self.at += 1  # the opening DQUOTE
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char == "\\":
                escaped = self.peek()
                if escaped not in ('"', "\\"):
                    raise self.fail('a backslash may only escape " or \\')
                out.append(escaped)
                self.at += 1
            elif char == '"':
                return "".join(out)
            elif not " " <= char <= "~":
                self.at -= 1
                raise self.fail("a string holds printable ASCII only (%x20-7E)")
            else:
                out.append(char)
        raise self.fail("the string has no closing quote")

    def token(self) -> str:
        start = self.at
        self.at += 1
        while self.peek() and (self.peek() in _TCHAR or self.peek() in ":/"):
            self.at += 1
        return self.text[start : self.at]

    def number(self) -> int | float:
        negative = self.peek() == "-"
        if negative:
            self.at += 1
        if not self.peek() or self.peek() not in _DIGITS:
            raise self.fail("a number needs a digit")
        digits = ""
        is_decimal = False
        while self.peek():
            char = self.peek()
            if char in _DIGITS:
                digits += char
            elif char == "." and not is_decimal:
                if len(digits) > 12:
                    raise self.fail("a decimal has at most 12 integer digits")
                digits += char
                is_decimal = True
            else:
                break
            self.at += 1
            if len(digits) > (16 if is_decimal else 15):
                raise self.fail("the number is too long")
        sign = -1 if negative else 1
        if not is_decimal:
            return sign * int(digits)
        fraction = digits.split(".")[1]
        if not 1 <= len(fraction) <= 3:
            raise self.fail("a decimal has 1 to 3 fractional digits")
        return sign * float(digits)

    def byte_sequence(self) -> bytes:
        self.at += 1
        end = self.text.find(":", self.at)
        if end < 0:
            raise self.fail("the byte sequence has no closing colon")
        encoded = self.text[self.at : end]
        if not set(encoded) <= _BASE64:
            raise self.fail("a byte sequence is base64")
        self.at = end + 1
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:
            raise self.fail("a byte sequence is base64") from None

    def boolean(self) -> bool:
        self.at += 1
        char = self.peek()
        if char not in ("0", "1") or not char:
            raise self.fail("a boolean is ?0 or ?1")
        self.at += 1
        return char == "1"

    def parameters(self) -> dict[str, object]:
        found: dict[str, object] = {}
        while self.peek() == ";":
            self.at += 1
            while self.peek() == " ":
                self.at += 1
            name = self.key()
            value: object = True
            if self.peek() == "=":
                self.at += 1
                value = self.bare_item()
            found[name] = value
        return found

    def key(self) -> str:
        if not self.peek() or (self.peek() not in _LCALPHA and self.peek() != "*"):
            raise self.fail("a parameter name starts with a-z or *")
        start = self.at
        while self.peek() and self.peek() in _KEY_CHARS:
            self.at += 1
        return self.text[start : self.at]


def parse_sf_string(field: str) -> str:
    """The String of an Item Structured Field (parameters ignored); raises
    ``InvalidKey`` for anything else."""
    plain = _PLAIN_STRING.fullmatch(field)
    if plain is not None:
        return plain.group(1)
    parser = _Parser(field.strip(" "))
    value = parser.item()
    if parser.at != len(parser.text):
        if parser.peek() == ",":
            raise InvalidKey(
                "the field holds a list; send exactly one Idempotency-Key (draft section 2.1)"
            )
        raise parser.fail("unexpected characters after the key")
    return value


def parse_key(lines: list[bytes], max_length: int) -> str:
    """The key from the request's ``Idempotency-Key`` field lines, checked:
    exactly one line, a String, 1 to ``max_length`` characters."""
    if len(lines) > 1:
        raise InvalidKey(
            f"the request has {len(lines)} Idempotency-Key fields; a client sends exactly one"
        )
    try:
        text = lines[0].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidKey("the field holds bytes that are not ASCII") from None
    key = parse_sf_string(text)
    if not key:
        raise InvalidKey('the key is empty; send a unique value, a UUID for example: "8e03..."')
    if len(key) > max_length:
        raise InvalidKey(f"the key is {len(key)} characters long; at most {max_length} are allowed")
    return key
