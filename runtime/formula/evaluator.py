"""Evaluate a checked formula for one record, in Python, with simpleeval.

The checked tree is translated once into a small node tree that a ``SimpleEval``
subclass walks: simpleeval's dispatch and its name, constant and conditional handlers,
plus Tenon's handlers for operators, function calls (lazy ones receive thunks, so
``IF(ISBLANK(x), 0, 1/x)`` never divides by blank) and lookups of other records. Nothing
from Python is reachable: no attribute, subscript, comprehension, lambda or f-string
node exists in the tree, only registered functions are called, and every evaluation has
a step budget. Every failure — a guard, a Python exception in a function — comes out as a
``FormulaError`` with the position of the culprit.
"""

from __future__ import annotations

import ast
import gc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from simpleeval import NameNotDefined, SimpleEval

from runtime.decimals import NumberTooLarge
from runtime.formula import ir, operators
from runtime.formula.errors import FormulaError
from runtime.formula.library import EvalError

MAX_STEPS = 200_000
# CPU budget of one evaluation: this thread's processor time, less the time Python's
# garbage collector took meanwhile (a busy machine, a descheduled thread or a collection
# of a large heap do not fail a formula that would finish); functions can do real work;
# MAX_STEPS bounds the evaluation's size besides
MAX_SECONDS = 1.0
_GC_SECONDS = [0.0, 0.0]  # total collection time so far, start of the running one


def _collecting(phase: str, info: Any) -> None:
    now = time.thread_time()
    if phase == "start":
        _GC_SECONDS[1] = now
    else:
        _GC_SECONDS[0] += max(0.0, now - _GC_SECONDS[1])


gc.callbacks.append(_collecting)


def _spent() -> float:
    """This thread's processor time without the garbage collector's."""
    return time.thread_time() - _GC_SECONDS[0]


class Lookups(Protocol):
    """Reads what lies outside the record: other records (``Ref``), related lists and
    aggregates. The record service provides one backed by the database."""

    def fetch(self, expr: ir.Expr, record: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Env:
    today: date
    now: datetime
    me: int | None = None
    lookups: Lookups | None = None


class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class _Op(_Node):
    __slots__ = ("fn", "left", "right")

    def __init__(self, pos: int, fn: Callable[[Any, Any], Any], left: Any, right: Any) -> None:
        super().__init__(pos)
        self.fn, self.left, self.right = fn, left, right


class _Neg(_Node):
    __slots__ = ("operand",)

    def __init__(self, pos: int, operand: Any) -> None:
        super().__init__(pos)
        self.operand = operand


class _Call(_Node):
    __slots__ = ("args", "impl", "name")

    def __init__(self, pos: int, name: str, impl: Callable[..., Any], args: list[Any]) -> None:
        super().__init__(pos)
        self.name, self.impl, self.args = name, impl, args


class _Lazy(_Call):
    __slots__ = ()


class _External(_Node):
    __slots__ = ("expr",)

    def __init__(self, pos: int, expr: ir.Expr) -> None:
        super().__init__(pos)
        self.expr = expr


class _Special(_Node):
    __slots__ = ("what",)

    def __init__(self, pos: int, what: str) -> None:
        super().__init__(pos)
        self.what = what


def _constant(value: Any) -> ast.Constant:
    return ast.Constant(value=value)


def translate(expr: ir.Expr) -> Any:
    """The evaluator's tree for checked ``expr`` (built once, evaluated many times)."""
    if isinstance(expr, ir.Const):
        return _constant(expr.value)
    if isinstance(expr, ir.Local):
        return ast.Name(id=expr.name, ctx=ast.Load())
    if isinstance(expr, ir.Inline):
        return translate(expr.body)
    if isinstance(expr, ir.Me):
        return _Special(expr.pos, "me")
    if ir.is_external(expr):
        return _External(expr.pos, expr)
    if isinstance(expr, ir.Negate):
        return _Neg(expr.pos, translate(expr.operand))
    if isinstance(expr, ir.Binary):
        fn = operators.for_binary(expr.op, expr.left.type, expr.right.type)
        return _Op(expr.pos, fn, translate(expr.left), translate(expr.right))
    assert isinstance(expr, ir.Call)
    function = expr.function
    args = [translate(a) for a in expr.args]
    if function.name == "IF" and len(args) == 3:
        test: Any = _Op(expr.pos, operators.is_true, args[0], None)
        return ast.IfExp(test=test, body=args[1], orelse=args[2])
    if function.lazy is not None:
        return _Lazy(expr.pos, function.name, function.lazy, args)
    assert function.impl is not None
    if function.volatile:
        return _Special(expr.pos, function.name)
    return _Call(expr.pos, function.name, function.impl, args)


class Evaluator(SimpleEval):  # type: ignore[misc]
    """A simpleeval evaluator restricted to Tenon's node kinds, with a step budget."""

    def __init__(self, env: Env) -> None:
        super().__init__(operators={}, functions={}, names={})
        self.env = env
        self.steps = 0
        self.deadline = 0.0
        self.record: Mapping[str, Any] = {}
        self.nodes = {
            ast.Name: self._eval_name,
            ast.Constant: self._eval_constant,
            ast.IfExp: self._eval_ifexp,
            _Op: self._op,
            _Neg: self._neg,
            _Call: self._call,
            _Lazy: self._lazy,
            _External: self._external,
            _Special: self._special,
        }

    def run(self, tree: Any, record: Mapping[str, Any]) -> Any:
        self.names = record
        self.record = record
        self.steps = 0
        self.deadline = _spent() + MAX_SECONDS
        try:
            return self._eval(tree)
        except FormulaError:
            raise
        except RecursionError:
            raise FormulaError(
                "the formula nests too deeply to evaluate", 0, "FORMULA_LIMIT"
            ) from None
        except (KeyError, NameNotDefined) as exc:
            name = getattr(exc, "name", None) or (exc.args[0] if exc.args else "?")
            raise FormulaError(f"the record has no value for {name!r}", 0) from None

    def _eval(self, node: Any) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise FormulaError(
                "the formula takes too many steps to evaluate",
                getattr(node, "pos", 0),
                "FORMULA_BUDGET",
            )
        return self.nodes[type(node)](node)

    @staticmethod
    def _fail(node: _Node, exc: Exception) -> FormulaError:
        if isinstance(exc, FormulaError):
            return exc
        if isinstance(exc, EvalError | NumberTooLarge):
            return FormulaError(str(exc), node.pos, "FORMULA_LIMIT")
        return FormulaError(
            f"this part of the formula could not be evaluated ({type(exc).__name__})",
            node.pos,
            "FORMULA_EVAL",
        )

    def _op(self, node: _Op) -> Any:
        left = self._eval(node.left)
        right = None if node.right is None else self._eval(node.right)
        try:
            return node.fn(left, right)
        except Exception as exc:  # becomes a positioned formula error
            raise self._fail(node, exc) from None

    def _neg(self, node: _Neg) -> Any:
        value = self._eval(node.operand)
        try:
            return operators.negate(value)
        except Exception as exc:
            raise self._fail(node, exc) from None

    def _over_time(self, node: _Node) -> None:
        if _spent() > self.deadline:
            raise FormulaError(
                f"the formula takes longer than {MAX_SECONDS:g} second to evaluate",
                node.pos,
                "FORMULA_BUDGET",
            )

    def _call(self, node: _Call) -> Any:
        args = [self._eval(a) for a in node.args]
        self._over_time(node)
        try:
            return node.impl(*args)
        except Exception as exc:
            raise self._fail(node, exc) from None

    def _lazy(self, node: _Lazy) -> Any:
        thunks = [(lambda a=a: self._eval(a)) for a in node.args]
        try:
            return node.impl(thunks)
        except Exception as exc:
            raise self._fail(node, exc) from None

    def _external(self, node: _External) -> Any:
        if self.env.lookups is None:
            raise FormulaError(
                "this formula reads other records, which is not possible here",
                node.pos,
                "FORMULA_CONTEXT",
            )
        return self.env.lookups.fetch(node.expr, self.record)

    def _special(self, node: _Special) -> Any:
        if node.what == "me":
            return self.env.me
        if node.what == "TODAY":
            return self.env.today
        return self.env.now


class Compiled:
    """A checked formula ready to evaluate: translate once, evaluate per record."""

    def __init__(self, expr: ir.Expr) -> None:
        self.expr = expr
        self.tree = translate(expr)

    def evaluate(self, record: Mapping[str, Any], env: Env) -> Any:
        return Evaluator(env).run(self.tree, record)

    def evaluator(self, env: Env) -> Callable[[Mapping[str, Any]], Any]:
        """A function evaluating this formula for many records (one evaluator, reused)."""
        machine = Evaluator(env)
        tree = self.tree
        return lambda record: machine.run(tree, record)
