"""Parse Tenon's spreadsheet-like formula language into a tree with source positions.

    condition  := concat (("=" | "<>" | "<" | "<=" | ">" | ">=") concat)*
    concat     := additive ("&" additive)*
    additive   := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | primary
    primary    := NUMBER | STRING | TRUE | FALSE | @me | NAME ("." NAME)*
                | FUNCTION "(" [condition ("," condition)*] ")" | "(" condition ")"

Strings use double quotes, with ``""`` for a quote inside. Function names are
case-insensitive and kept upper-case. Positions are 0-based character offsets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

MAX_LENGTH = 4000
MAX_DEPTH = 64


class FormulaSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position + 1})")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Literal:
    value: Decimal | str | bool | None
    pos: int


@dataclass(frozen=True)
class Name:
    path: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Me:
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node
    pos: int


Node = Literal | Name | Me | Call | Binary | Unary

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)
      | (?P<string>"(?:[^"]|"")*")
      | (?P<me>@me\b)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><>|<=|>=|[=<>&+\-*/(),.])
    """,
    re.VERBOSE,
)
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] == '"':
                raise FormulaSyntaxError("text is missing its closing quote", pos)
            raise FormulaSyntaxError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group(), pos))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, value: str) -> None:
        kind, text, pos = self.take()
        if text != value:
            found = "the end of the formula" if kind == "end" else repr(text)
            raise FormulaSyntaxError(f"expected {value!r} but found {found}", pos)

    def binary(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        left = operand()
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            _, op, pos = self.take()
            right = operand()
            left = Binary(op, left, right, pos)
        return left

    def condition(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaSyntaxError(
                f"the formula nests deeper than {MAX_DEPTH} levels", self.peek()[2]
            )
        try:
            return self.binary(COMPARISONS, self.concat)
        finally:
            self.depth -= 1

    def concat(self) -> Node:
        return self.binary(("&",), self.additive)

    def additive(self) -> Node:
        return self.binary(("+", "-"), self.term)

    def term(self) -> Node:
        return self.binary(("*", "/"), self.unary)

    def unary(self) -> Node:
        kind, text, pos = self.peek()
        if kind == "op" and text in ("-", "+"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FormulaSyntaxError(f"the formula nests deeper than {MAX_DEPTH} levels", pos)
            try:
                return Unary(text, self.unary(), pos)
            finally:
                self.depth -= 1
        return self.primary()

    def primary(self) -> Node:
        kind, text, pos = self.take()
        if kind == "number":
            return Literal(Decimal(text), pos)
        if kind == "string":
            return Literal(text[1:-1].replace('""', '"'), pos)
        if kind == "me":
            return Me(pos)
        if kind == "name":
            upper = text.upper()
            if self.peek()[1] == "(":
                self.take()
                args: list[Node] = []
                if self.peek()[1] != ")":
                    args.append(self.condition())
                    while self.peek()[1] == ",":
                        self.take()
                        args.append(self.condition())
                self.expect(")")
                return Call(upper, tuple(args), pos)
            if upper in ("TRUE", "FALSE"):
                return Literal(upper == "TRUE", pos)
            path = [text]
            while self.peek()[1] == ".":
                self.take()
                nkind, ntext, npos = self.take()
                if nkind != "name":
                    raise FormulaSyntaxError("expected a field name after '.'", npos)
                path.append(ntext)
            return Name(tuple(path), pos)
        if text == "(":
            inner = self.condition()
            self.expect(")")
            return inner
        found = "the end of the formula" if kind == "end" else repr(text)
        raise FormulaSyntaxError(f"expected a value but found {found}", pos)


def parse(text: str) -> Node:
    """Parse ``text`` (an optional leading ``=`` is allowed, as in a spreadsheet)."""
    if len(text) > MAX_LENGTH:
        raise FormulaSyntaxError(f"the formula is longer than {MAX_LENGTH} characters", 0)
    source = text
    if source.lstrip().startswith("="):
        offset = source.index("=") + 1
        source = " " * offset + source[offset:]
    parser = _Parser(source)
    node = parser.condition()
    kind, rest, pos = parser.peek()
    if kind != "end":
        raise FormulaSyntaxError(f"unexpected {rest!r} after the end of the expression", pos)
    return node
