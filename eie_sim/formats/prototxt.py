"""The protobuf text format Caffe writes network definitions in, read without Caffe or protobuf.

A message is a sequence of `key: scalar` and `key { message }` fields (`key: { ... }` too); keys repeat freely.
Only the schema-free structure is parsed here; what the keys mean is the caller's business (see caffe.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from eie_sim.errors import InputError
from eie_sim.support.files import read_text

_TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<punct>[{}:])
      | (?P<word>[^\s{}:"'\#\[\],;<>]+)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "punct" or "word"
    text: str  # for strings: the unquoted, unescaped content
    line: int


@dataclass
class Message:
    """A parsed message: fields in file order as (key, value, line); a value is a scalar string or a Message."""

    source: str
    line: int
    fields: list[tuple[str, str | Message, int]] = field(default_factory=list)

    def error(self, message: str, line: int | None = None) -> InputError:
        return InputError(f"{self.source} line {self.line if line is None else line}: {message}")

    def _scalars(self, key: str) -> list[tuple[str, int]]:
        found = []
        for name, value, line in self.fields:
            if name == key:
                if isinstance(value, Message):
                    raise self.error(f"{key} must be a value, not a {{ }} block", line)
                found.append((value, line))
        return found

    def _last(self, key: str) -> tuple[str, int] | None:
        found = self._scalars(key)
        return found[-1] if found else None

    def has(self, key: str) -> bool:
        return any(name == key for name, _, _ in self.fields)

    def children(self, key: str) -> list[Message]:
        """All sub-messages named `key`, in order."""
        found = []
        for name, value, line in self.fields:
            if name == key:
                if not isinstance(value, Message):
                    raise self.error(f"{key} must be a {{ }} block", line)
                found.append(value)
        return found

    def child(self, key: str) -> Message:
        """The sub-message `key` (an empty one when absent, so that every field takes its default)."""
        found = self.children(key)
        if len(found) > 1:
            raise self.error(f"{key} appears {len(found)} times; expected at most once")
        return found[0] if found else Message(self.source, self.line)

    def text(self, key: str, default: str | None = None) -> str:
        found = self._last(key)
        if found is None:
            if default is None:
                raise self.error(f"missing {key}")
            return default
        return found[0]

    def texts(self, key: str) -> list[str]:
        return [value for value, _ in self._scalars(key)]

    def integers(self, key: str) -> list[int]:
        values = []
        for value, line in self._scalars(key):
            try:
                values.append(int(value, 0))
            except ValueError:
                raise self.error(f"{key} must be an integer, got {value!r}", line) from None
        return values

    def integer(self, key: str, default: int | None = None) -> int:
        values = self.integers(key)
        if not values:
            if default is None:
                raise self.error(f"missing {key}")
            return default
        return values[-1]

    def number(self, key: str, default: float) -> float:
        found = self._last(key)
        if found is None:
            return default
        try:
            return float(found[0].rstrip("fF"))
        except ValueError:
            raise self.error(f"{key} must be a number, got {found[0]!r}", found[1]) from None

    def flag(self, key: str, default: bool) -> bool:
        found = self._last(key)
        if found is None:
            return default
        value, line = found
        if value in ("true", "True", "t", "1"):
            return True
        if value in ("false", "False", "f", "0"):
            return False
        raise self.error(f"{key} must be true or false, got {value!r}", line)


def _tokens(text: str, source: str) -> list[_Token]:
    tokens, pos, line = [], 0, 1
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise InputError(f"{source} line {line}: unexpected character {text[pos]!r}")
        kind = match.lastgroup
        assert kind is not None
        chunk = match.group()
        if kind == "string":
            tokens.append(_Token(kind, re.sub(r"\\(.)", r"\1", chunk[1:-1]), line))
        elif kind != "space":
            tokens.append(_Token(kind, chunk, line))
        line += chunk.count("\n")
        pos = match.end()
    return tokens


def parse(text: str, source: str = "<prototxt>") -> Message:
    """Parse prototxt text; `source` names the file in error messages."""
    tokens = _tokens(text, source)
    root = Message(source, 1)
    stack = [root]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "punct" and token.text == "}":
            if len(stack) == 1:
                raise InputError(f"{source} line {token.line}: '}}' without a matching '{{'")
            stack.pop()
            i += 1
            continue
        if token.kind != "word":
            raise InputError(f"{source} line {token.line}: expected a field name, got {token.text!r}")
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if following is not None and following.text == ":" and following.kind == "punct":
            i += 1
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is not None and following.kind in ("string", "word"):
                stack[-1].fields.append((token.text, following.text, token.line))
                i += 2
                continue
        if following is not None and following.kind == "punct" and following.text == "{":
            child = Message(source, token.line)
            stack[-1].fields.append((token.text, child, token.line))
            stack.append(child)
            i += 2
            continue
        raise InputError(f"{source} line {token.line}: expected a value or a {{ }} block after {token.text!r}")
    if len(stack) > 1:
        raise InputError(f"{source}: the block opened on line {stack[-1].line} is never closed")
    return root


def read(path: str | Path) -> Message:
    """Parse a prototxt file; unreadable files become an InputError naming them."""
    return parse(read_text(path, "prototxt file"), str(path))
