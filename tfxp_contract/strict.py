"""Reading a YAML mapping into a strict model, with one-line errors a person can act on.

The models are pydantic dataclasses that forbid unknown keys at every level; pydantic checks
the types and bounds. A failure becomes one line naming the file, the key's path
(``columns[2].range``) and what is wrong: for an unknown key, the nearest known name; for a
wrong type, the value given.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from typing import Any, TypeVar

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

# Every model: unknown keys are errors; values are converted only where the conversion is
# unambiguous ("4" for an int is refused in strict mode, but YAML already gives numbers).
STRICT = ConfigDict(extra="forbid")

T = TypeVar("T")

# A plain file or folder name: it becomes part of a path, so it must not climb out of its
# folder, hide, or be absolute.
_PLAIN_NAME = re.compile(r"^[^/\\\x00]+$")


def check_plain_name(value: str, what: str = "name") -> str:
    if not _PLAIN_NAME.match(value) or value in (".", "..") or value.startswith("."):
        raise ValueError(f"{what} {value!r} must be a plain file or folder name (no '/', no '..', "
                         "not hidden, not absolute)")
    return value


def _location(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_at(model: type, loc: tuple) -> type | None:
    """The dataclass whose fields the key at ``loc`` belongs to (for 'did you mean')."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not dataclasses.is_dataclass(current):
            return None
        hints = typing.get_type_hints(current)
        if part not in hints:
            return None
        current = _unwrap(hints[part])
    return current if dataclasses.is_dataclass(current) else None


def _unwrap(annotation: Any) -> Any:
    """The dataclass inside Optional[...], tuple[..., ...] or list[...], if any."""
    for arg in typing.get_args(annotation) or ():
        inner = _unwrap(arg)
        if dataclasses.is_dataclass(inner):
            return inner
    return annotation


def describe(error: dict, model: type) -> str:
    """One pydantic error as '<path>: <what is wrong>'."""
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = error["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        parent, key = loc[:-1], loc[-1]
        owner = _model_at(model, parent)
        known = [f.name for f in dataclasses.fields(owner)] if owner else []
        near = difflib.get_close_matches(str(key), known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else (f"; known: {', '.join(known)}" if known else "")
        where = f"{_location(parent)}: " if parent else ""
        return f"{where}unknown field(s) [{str(key)!r}]{hint}"
    if kind in ("missing", "missing_argument"):
        parent = _location(loc[:-1])
        return f"{parent + ': ' if parent else ''}missing required field {str(loc[-1])!r}"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    shown = "" if kind == "value_error" or isinstance(given, (dict, list)) else f", got {given!r}"
    return f"{_location(loc)}: {message}{shown}" if loc else f"{message}{shown}"


def parse(model: type[T], raw: Any, where: str, error: type[Exception]) -> T:
    """``raw`` (a YAML mapping) as ``model``; a bad value raises ``error`` with one line."""
    try:
        return TypeAdapter(model).validate_python(raw)
    except ValidationError as err:
        problems = err.errors()
        first = problems[0]["loc"]
        # A bad item also fails its container's checks (a tuple's length): not a problem of its own.
        others = [p for p in problems[1:] if tuple(p["loc"]) != tuple(first[:len(p["loc"])])]
        more = f" (and {len(others)} more problem(s))" if others else ""
        raise error(f"{where}: {describe(problems[0], model)}{more}") from None


class _NoAliasLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors' aliases: a spec never needs them, and nested ones
    (a "billion laughs") expand to gigabytes wherever the loaded value is copied or written."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"an alias (*{event.anchor}) repeats an anchor's value; "
                                              "aliases are not accepted here: write the value out",
                                              event.start_mark)
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` refusing aliases (``yaml.YAMLError`` says where)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
