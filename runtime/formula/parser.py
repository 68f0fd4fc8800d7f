"""Parse Tenon's spreadsheet-like formula language into a tree with source positions.

    condition  := concat (("=" | "<>" | "<" | "<=" | ">" | ">=") concat)*
    concat     := additive ("&" additive)*
    additive   := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | primary
    primary    := NUMBER | STRING | TRUE | FALSE | @me ("." NAME)* | NAME ("." NAME)*
                | FUNCTION "(" [condition ("," condition)*] ")" | "(" condition ")"

Strings use double quotes, with ``""`` for a quote inside. Function names are
case-insensitive and kept upper-case. Positions are 0-based character offsets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from runtime.formula.errors import FormulaError

MAX_LENGTH = 4000
MAX_DEPTH = 64  # nesting of parentheses and function calls
MAX_TREE_DEPTH = 128  # operators in a chain count too: 1+1+…+1
MAX_NODES = 4000  # a 4,000-character formula has fewer parts than this; inlining may add


class FormulaSyntaxError(FormulaError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position, "FORMULA_SYNTAX")


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
    path: tuple[str, ...] = ()  # @me.employee.manager: the user's own record, then fields


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


LONG_CHAIN = 32


def _balanced(terms: list[Node], signs: list[tuple[str, int]]) -> Node:
    """A long chain of one associative operator as a balanced tree (depth log n), so a
    sum of 900 terms does not nest 900 deep. ``a - b`` becomes ``a + -b`` (sums are exact)."""
    ops = {op for op, _ in signs}
    if len(ops) > 1 and not ops <= {"+", "-"}:
        raise FormulaSyntaxError("mix of operators too long to evaluate", signs[0][1])
    op = "+" if ops <= {"+", "-"} else signs[0][0]
    items = [terms[0]] + [
        Unary("-", t, pos) if sign == "-" else t
        for (sign, pos), t in zip(signs, terms[1:], strict=True)
    ]
    positions = [signs[0][1]] + [pos for _, pos in signs]

    def build(lo: int, hi: int) -> Node:
        if hi - lo == 1:
            return items[lo]
        mid = (lo + hi) // 2
        return Binary(op, build(lo, mid), build(mid, hi), positions[mid])

    return build(0, len(items))


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
        terms = [operand()]
        signs: list[tuple[str, int]] = []
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            _, op, pos = self.take()
            signs.append((op, pos))
            terms.append(operand())
        if len(terms) > LONG_CHAIN and {op for op, _ in signs} <= {"+", "-", "*", "&"}:
            return _balanced(terms, signs)
        left = terms[0]
        for (op, pos), right in zip(signs, terms[1:], strict=True):
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

    def dotted(self) -> list[str]:
        """The ``.name`` steps that follow a name or ``@me``."""
        path: list[str] = []
        while self.peek()[1] == ".":
            self.take()
            nkind, ntext, npos = self.take()
            if nkind != "name":
                raise FormulaSyntaxError("expected a field name after '.'", npos)
            path.append(ntext)
        return path

    def primary(self) -> Node:
        kind, text, pos = self.take()
        if kind == "number":
            return Literal(Decimal(text), pos)
        if kind == "string":
            if "\x00" in text:
                raise FormulaSyntaxError("text cannot contain the NUL character", pos)
            return Literal(text[1:-1].replace('""', '"'), pos)
        if kind == "me":
            return Me(pos, tuple(self.dotted()))
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
            return Name((text, *self.dotted()), pos)
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
    _check_size(node)
    return node


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    return ()


def _check_size(root: Node) -> None:
    """Bound the tree the evaluator will walk: node count and depth (iteratively)."""
    count = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise FormulaSyntaxError(f"the formula has more than {MAX_NODES} parts", node.pos)
        if depth > MAX_TREE_DEPTH:
            raise FormulaSyntaxError(
                f"the formula nests deeper than {MAX_TREE_DEPTH} levels", node.pos
            )
        stack.extend((child, depth + 1) for child in children(node))
