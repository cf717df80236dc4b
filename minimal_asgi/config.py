"""Configuration: typed settings read from the environment, once, at startup.

Before the first request is served, the app needs to know where its database
is, which hosts it answers for, and the key it signs sessions with. Those
values differ between a laptop, CI and production, so they do not belong in
the code: they come from *environment variables* (the twelve-factor rule),
with an optional ``.env`` file as a convenience for development::

    class AppSettings(Settings):
        environment: Literal["development", "production"] = "development"
        database_url: str = "sqlite://:memory:"
        port: int = 8000
        allowed_hosts: list[str] = []
        secret_key: Secret                      # required: no default

    settings = AppSettings.from_env(prefix="APP_", env_file=".env")

Each annotated field is read from ``PREFIX + NAME.upper()`` (``APP_PORT``) and
converted to its annotation. Where a value comes from, strongest first: the
real environment, then the ``.env`` file, then the default written in the
class. Every problem is collected and reported in one ``ConfigurationError``
that names the variables, so a broken deployment is fixed in one round trip,
not one variable at a time. A ``Secret`` is never printed: not in the settings'
repr, not in an error message.

In production (a field ``environment`` equal to ``"production"``) loading also
refuses secrets that are missing, left at their default in code, too short, or
a well-known placeholder such as ``changeme``.
"""

from __future__ import annotations

import copy
import hmac
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, dataclass_transform

from minimal_asgi.exceptions import ConfigurationError

__all__ = ["Secret", "SettingInfo", "Settings", "env", "parse_env_file", "read_env_file"]

S = TypeVar("S", bound="Settings")

# What a suggestion to generate a secret looks like, in every error about one.
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
DEFAULT_MIN_SECRET_LENGTH = 32

# Values people paste while setting things up and then forget. Compared lower-cased.
_PLACEHOLDERS = frozenset(
    {
        "changeme", "change-me", "change_me", "changethis", "secret", "secret-key",
        "secret_key", "secretkey", "password", "default", "dev", "development", "test",
        "testing", "example", "insecure", "todo", "xxx", "none", "null", "12345678",
    }
)  # fmt: skip


class Secret:
    """A value that must not end up in logs, tracebacks or error pages.

    ``str(secret)`` and ``repr(secret)`` show ``**********``; the value itself
    is read on purpose, with ``secret.get_secret_value()``. Comparing two
    secrets takes the same time wherever they differ (``hmac.compare_digest``),
    so an attacker cannot learn a key one character at a time by timing.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


# -- declaring fields -----------------------------------------------------------

_MISSING: Any = object()


class _FieldOptions:
    """What ``env(...)`` records about one field, beyond its annotation."""

    __slots__ = (
        "default", "default_factory", "description", "min_length", "name",
        "required_in_production",
    )  # fmt: skip

    def __init__(
        self,
        name: str | None,
        default: Any,
        default_factory: Callable[[], Any] | None,
        min_length: int | None,
        description: str,
        required_in_production: bool = False,
    ) -> None:
        self.name = name
        self.default = default
        self.default_factory = default_factory
        self.min_length = min_length
        self.description = description
        self.required_in_production = required_in_production


def env(
    name: str | None = None,
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    min_length: int | None = None,
    description: str = "",
    required_in_production: bool = False,
) -> Any:
    """Options for one setting, used as its default: ``x: str = env("DATABASE_URL")``.

    ``name``: the exact variable to read, *without* the prefix (for variables a
    platform sets, like ``DATABASE_URL`` or ``PORT``). ``default`` or
    ``default_factory``: the value when the variable is unset (neither: the
    setting is required). ``min_length``: for a ``Secret``, the shortest value
    accepted in production (default 32). ``description``: one line for the
    settings table (``Settings.describe``). ``required_in_production``: the
    default is for a laptop (``localhost``, an in-memory backend); in
    production the variable must be set, or loading fails naming it.
    """
    if default is not _MISSING and default_factory is not None:
        raise ConfigurationError("env(): give default or default_factory, not both")
    return _FieldOptions(
        name, default, default_factory, min_length, description, required_in_production
    )


class SettingInfo(typing.NamedTuple):
    """One setting as a reader of the docs sees it (``Settings.describe``)."""

    variable: str  # the environment variable, prefix included
    field: str  # the attribute on the settings object
    type: str  # the annotation, written as in the code: "int", "list[str]", "str | None"
    default: str | None  # as it would be written in the environment; None: no default
    required: bool  # no default at all: loading fails without it, anywhere
    required_in_production: bool  # must be set when the environment is production
    secret: bool
    description: str


class _Field:
    """One setting, with the converter chosen for its annotation (once, per class)."""

    __slots__ = ("annotation", "convert", "env_name", "name", "options")

    def __init__(self, name: str, annotation: Any, options: _FieldOptions) -> None:
        self.name = name
        self.annotation = annotation
        self.options = options
        self.env_name = options.name  # None: built from the prefix when loading
        self.convert = _converter_for(annotation)

    @property
    def required(self) -> bool:
        return self.options.default is _MISSING and self.options.default_factory is None

    def default(self) -> Any:
        if self.options.default_factory is not None:
            return self.options.default_factory()
        # A class attribute is shared by every instance: copy a mutable default
        # (a list) so one settings object cannot change another's.
        return copy.copy(self.options.default)

    def variable(self, prefix: str) -> str:
        return self.env_name if self.env_name is not None else prefix + self.name.upper()


# -- converting text to the annotated type ---------------------------------------

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _to_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("a bool (use true/false, 1/0, yes/no or on/off)")


def _to_int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("an int") from None


def _to_float(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError("a float") from None


def _to_str(raw: str) -> str:
    return raw


_SCALARS: dict[Any, Callable[[str], Any]] = {
    str: _to_str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    Secret: Secret,
}


def _converter_for(annotation: Any) -> Callable[[str], Any]:
    """Choose, once, the function turning a variable's text into the field's type.

    A converter raises ``ValueError`` whose message completes the sentence
    "APP_PORT='eighty' is not ...". (A ``Secret`` accepts any text, so its
    value never has to be quoted in an error.)
    """
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return _literal_converter(args)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1 and len(args) == 2:
            inner = _converter_for(options[0])

            def optional(raw: str) -> Any:
                # An empty variable is how a shell says "unset" for an optional value.
                return None if raw.strip() == "" else inner(raw)

            return optional
    if annotation is list or origin is list:
        item = args[0] if args else str
        convert_item = _converter_for(item)
        if typing.get_origin(item) is list:
            raise TypeError("a list of lists cannot be read from one variable")

        def comma_separated(raw: str) -> list[Any]:
            items = [part.strip() for part in raw.split(",")]
            return [convert_item(part) for part in items if part]

        return comma_separated
    raise TypeError(
        f"{annotation!r} is not supported; use str, int, float, bool, Secret, "
        "Literal[...], list[...] or one of them | None"
    )


def _literal_converter(choices: tuple[Any, ...]) -> Callable[[str], Any]:
    by_text = {str(choice): choice for choice in choices}
    wanted = ", ".join(repr(str(choice)) for choice in choices)

    def literal(raw: str) -> Any:
        try:
            return by_text[raw.strip()]
        except KeyError:
            raise ValueError(f"one of {wanted}") from None

    return literal


def _shown(raw: str) -> str:
    """The offending value as an error message shows it: quoted and cut short."""
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


# -- the settings class -------------------------------------------------------------


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(env,))
class Settings:
    """Declare settings as annotated class attributes; load them with ``from_env``.

    Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``Secret``,
    ``Literal[...]`` choices, ``list[T]`` (comma-separated) and ``T | None``
    (an empty variable means ``None``). A field without a default is required.
    A settings object is read-only; ``replace(**changes)`` makes a modified copy.
    """

    _fields_cache: ClassVar[list[_Field] | None] = None

    def __init__(self, **values: Any) -> None:
        fields = type(self)._fields()
        unknown = set(values) - {f.name for f in fields}
        if unknown:
            raise ConfigurationError(
                f"{type(self).__name__} has no setting(s) {', '.join(sorted(unknown))}"
            )
        missing = [f.name for f in fields if f.required and f.name not in values]
        if missing:
            raise ConfigurationError(
                f"{type(self).__name__} needs a value for {', '.join(missing)}"
            )
        for field in fields:
            value = values[field.name] if field.name in values else field.default()
            object.__setattr__(self, field.name, value)

    @classmethod
    def from_env(
        cls: type[S],
        prefix: str = "",
        *,
        env_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> S:
        """Read every setting from ``environ`` (default: ``os.environ``).

        ``env_file``: a ``.env`` file consulted for variables the environment
        does not set; a missing file is skipped (it is a development aid, and
        production usually has none). Raises one ``ConfigurationError`` listing
        every missing or malformed variable.
        """
        source: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            source.update(read_env_file(env_file))
        source.update(os.environ if environ is None else environ)

        values: dict[str, Any] = {}
        from_code: set[str] = set()  # settings left at the default written in the class
        errors: list[str] = []
        for field in cls._fields():
            variable = field.variable(prefix)
            raw = source.get(variable)
            if raw is None:
                if field.required:
                    errors.append(f"{variable} is required but not set")
                else:
                    values[field.name] = field.default()
                    from_code.add(field.name)
                continue
            try:
                values[field.name] = field.convert(raw)
            except ValueError as exc:
                errors.append(f"{variable}={_shown(raw)} is not {exc}")

        # Build the object even if some settings failed, so the production
        # checks can run too: every problem is reported in one go.
        settings = object.__new__(cls)
        for name, value in values.items():
            object.__setattr__(settings, name, value)
        try:
            production = settings.is_production
        except AttributeError:  # the environment setting itself failed to load
            production = False
        if production:
            errors.extend(settings._production_problems(prefix, from_code))

        if len(errors) == 1:
            raise ConfigurationError(errors[0])
        if errors:
            lines = "\n".join(f"  - {error}" for error in errors)
            raise ConfigurationError(f"{len(errors)} settings are wrong:\n{lines}")
        return settings

    @property
    def is_production(self) -> bool:
        """True when a field ``environment`` says ``production`` (or ``prod``).

        Override this property if your app names its environments differently.
        """
        environment = getattr(self, "environment", None)
        return isinstance(environment, str) and environment.lower() in ("production", "prod")

    def _production_problems(self, prefix: str, from_code: set[str]) -> list[str]:
        """Why these settings are not fit for production (empty if they are)."""
        problems: list[str] = []
        generate = f"generate one with: {GENERATE_SECRET}"
        for field in type(self)._fields():
            if field.name not in self.__dict__:
                continue  # already reported as missing or malformed
            variable, value = field.variable(prefix), self.__dict__[field.name]
            if field.options.required_in_production and field.name in from_code:
                problems.append(
                    f"{variable} is not set; its default is for development, and "
                    "production needs a real value"
                )
            if field.name == "debug" and value is True:
                problems.append(
                    f"{variable} is on in production: error pages would show tracebacks "
                    "to anyone; unset it"
                )
            if not isinstance(value, Secret):
                continue  # None is fine: an optional secret left unset
            minimum = field.options.min_length
            if minimum is None:
                minimum = DEFAULT_MIN_SECRET_LENGTH
            text = value.get_secret_value()
            if field.name in from_code:
                problems.append(
                    f"{variable} is not set; in production a secret must come from the "
                    f"environment, not from a default in the code; {generate}"
                )
            elif text.strip().lower() in _PLACEHOLDERS:
                problems.append(f"{variable} is a well-known placeholder value; {generate}")
            elif len(text) < minimum:
                problems.append(
                    f"{variable} is too short for production (fewer than {minimum} "
                    f"characters); {generate}"
                )
        return problems

    @classmethod
    def _fields(cls) -> list[_Field]:
        # Worked out once per class, on first use: resolving annotations needs
        # every name they mention to exist, which is not yet true while the
        # class body runs. cls.__dict__, not getattr: a subclass has its own.
        cached: list[_Field] | None = cls.__dict__.get("_fields_cache")
        if cached is not None:
            return cached
        try:
            hints = typing.get_type_hints(cls)
        except NameError as exc:
            raise ConfigurationError(
                f"{cls.__name__}: cannot resolve an annotation ({exc}); define the "
                "types a setting uses at module level"
            ) from None
        fields: list[_Field] = []
        for name, annotation in hints.items():
            if name.startswith("_") or typing.get_origin(annotation) is ClassVar:
                continue
            declared = getattr(cls, name, _MISSING)
            if isinstance(declared, _FieldOptions):
                options = declared
            else:
                options = _FieldOptions(None, declared, None, None, "")
            try:
                fields.append(_Field(name, annotation, options))
            except TypeError as exc:
                raise ConfigurationError(f"{cls.__name__}.{name}: {exc}") from None
        cls._fields_cache = fields
        return fields

    @classmethod
    def describe(cls, prefix: str = "") -> list[SettingInfo]:
        """Every setting of this class, for a table in the docs or an ``.env.example``.

        A secret's default is never shown. In production a secret must come from
        the environment, so it counts as required there, unless it is optional
        (``Secret | None = None``: unset is allowed, as ``from_env`` allows it).
        """
        infos: list[SettingInfo] = []
        for field in cls._fields():
            secret = _mentions_secret(field.annotation)
            default: str | None = None
            if not field.required:
                value = field.default()
                default = "" if secret else _as_variable_text(value)
                secret_needed = secret and value is not None
            else:
                secret_needed = secret
            infos.append(
                SettingInfo(
                    variable=field.variable(prefix),
                    field=field.name,
                    type=_type_text(field.annotation),
                    default=default,
                    required=field.required,
                    required_in_production=(
                        field.required or secret_needed or field.options.required_in_production
                    ),
                    secret=secret,
                    description=field.options.description,
                )
            )
        return infos

    def replace(self: S, **changes: Any) -> S:
        """A copy with some settings changed (handy in tests)."""
        values = {f.name: getattr(self, f.name) for f in type(self)._fields()}
        values.update(changes)
        return type(self)(**values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"settings are read-only (tried to set {name!r}); use .replace({name}=...)"
        )

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={self.__dict__[f.name]!r}"
            for f in type(self)._fields()
            if f.name in self.__dict__
        )
        return f"{type(self).__name__}({shown})"


def _mentions_secret(annotation: Any) -> bool:
    return annotation is Secret or Secret in typing.get_args(annotation)


def _type_text(annotation: Any) -> str:
    """An annotation written as in the code (``list[str]``, ``str | None``)."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else _type_text(a) for a in args)
    if origin is list:
        return f"list[{_type_text(args[0])}]" if args else "list"
    return str(annotation)  # pragma: no cover - _converter_for refused anything else


def _as_variable_text(value: Any) -> str:
    """A default as one would write it in the environment: what loading reads back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_variable_text(item) for item in value)
    return str(value)


# -- the .env file ------------------------------------------------------------------

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a ``.env`` file into a dict (see ``parse_env_file`` for the format)."""
    with open(path, encoding="utf-8") as file:
        return parse_env_file(file.read(), source=os.fspath(path))


def parse_env_file(text: str, *, source: str = ".env") -> dict[str, str]:
    """Parse the text of a ``.env`` file: one ``KEY=VALUE`` a line.

    - blank lines and lines starting with ``#`` are ignored; ``export KEY=VALUE``
      is accepted (so the file can also be ``source``-d by a shell);
    - an unquoted value is trimmed, and `` # comment`` after it is dropped;
    - a ``'single-quoted'`` value is taken literally;
    - a ``"double-quoted"`` value understands ``\\n``, ``\\t``, ``\\"`` and ``\\\\``;
    - a quoted value may span lines (a PEM key, for instance);
    - ``$VARIABLES`` are *not* expanded: what you see is what you get.

    A line that is not ``KEY=VALUE`` is an error naming the file and line number,
    but never quoting the line, which may hold a secret.
    """
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, rest = line.partition("=")
        key, rest = key.strip(), rest.strip()
        if not sep or not _KEY.match(key):
            raise ConfigurationError(f"{source}, line {number}: expected KEY=VALUE")
        if rest[:1] in ("'", '"'):
            quote, body = rest[0], rest[1:]
            end = _closing_quote(body, quote)
            while end < 0 and index < len(lines):  # the value goes on: take the next line
                body += "\n" + lines[index]
                index += 1
                end = _closing_quote(body, quote)
            if end < 0:
                raise ConfigurationError(f"{source}, line {number}: {quote} is never closed")
            after = body[end + 1 :].strip()
            if after and not after.startswith("#"):
                raise ConfigurationError(
                    f"{source}, line {number}: unexpected text after the closing {quote}"
                )
            value = body[:end]
            values[key] = _unescape(value) if quote == '"' else value
        else:
            comment = re.search(r"\s#", rest)
            values[key] = (rest[: comment.start()] if comment else rest).strip()
    return values


def _closing_quote(body: str, quote: str) -> int:
    """Where the closing quote is in ``body`` (-1 if none); ``\\"`` does not close."""
    position = 0
    while True:
        position = body.find(quote, position)
        if position < 0 or quote == "'":
            return position
        backslashes = len(body[:position]) - len(body[:position].rstrip("\\"))
        if backslashes % 2 == 0:
            return position
        position += 1


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), value)
