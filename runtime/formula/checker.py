"""Type-check a parsed formula against the fields it reads and the function signatures.

The result is the checked tree of ``runtime.formula.ir``: names resolved (with the nearest
field suggested when one is unknown), types known, dates in ISO text literals turned into
dates where a date is expected, computed fields of the same record inlined so their
intermediates stay exact. Errors are ``FormulaError`` with the position of the culprit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from runtime.decimals import MAX_DIGITS
from runtime.formula import ir
from runtime.formula.calls import check_call
from runtime.formula.catalog import Catalog, FieldInfo, ObjectInfo
from runtime.formula.errors import FormulaError
from runtime.formula.library import REGISTRY
from runtime.formula.parser import COMPARISONS, Binary, Call, Literal, Me, Name, Node, Unary, parse
from runtime.formula.types import (
    BLANK,
    BOOLEAN,
    DATE,
    DATETIME,
    MAX_SCALE,
    TEXT,
    USER,
    FType,
    common,
    list_of,
    number,
    record,
)
from runtime.formula.volatility import volatile_fields
from runtime.suggest import suggest

MAX_CHECKED_NODES = 20000  # after inlining other computed fields


@dataclass(frozen=True)
class Scope:
    """Where a formula is checked: the object its names belong to, and what it may use."""

    obj: ObjectInfo
    # computed fields of the record: inline (True), read the stored column (False), or
    # inline those computed from the record's own columns only ("local": related rows
    # in an aggregate, where inlining a field that reads other records would run its
    # lookups once per row and per use)
    inline: bool | str = True
    allow_me: bool = True
    allow_clock: bool = True


class Checker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._computed: dict[tuple[str, str], ir.Expr] = {}
        self._stack: list[tuple[str, str]] = []
        self._volatile: dict[str, frozenset[str]] = {}

    # -- entry points -------------------------------------------------------------------

    def check(
        self,
        text: str,
        obj: str | ObjectInfo,
        *,
        expect: str | None = None,
        inline: bool = True,
        allow_me: bool = True,
        allow_clock: bool = True,
    ) -> ir.Expr:
        """Check ``text`` about records of ``obj``; ``expect="boolean"`` for conditions."""
        info = obj if isinstance(obj, ObjectInfo) else self.catalog[obj]
        scope = Scope(info, inline, allow_me, allow_clock)
        try:
            tree = self.node(parse(text), scope)
        except RecursionError:
            raise FormulaError(
                "the formula and the computed fields it uses nest too deeply",
                0,
                "FORMULA_LIMIT",
            ) from None
        if sum(1 for _ in tree.walk()) > MAX_CHECKED_NODES:
            raise FormulaError("the formula is too large once the fields it uses are expanded")
        if expect == "boolean" and tree.type.kind not in ("boolean", "blank", "any"):
            raise FormulaError(
                f"a condition must be true or false, but this formula gives a {tree.type}",
                tree.pos,
                "FORMULA_TYPE",
            )
        return tree

    def computed_trees(self) -> dict[tuple[str, str], ir.Expr]:
        """The computed fields checked so far: (object, field) → checked formula."""
        return dict(self._computed)

    def volatile(self, obj: ObjectInfo) -> frozenset[str]:
        if obj.qualified not in self._volatile:
            specs = [f.spec for f in obj.fields.values() if f.computed]
            self._volatile[obj.qualified] = volatile_fields(specs)
        return self._volatile[obj.qualified]

    def computed(self, obj: ObjectInfo, field: FieldInfo) -> ir.Expr:
        """The checked formula of computed ``field`` (memoized; cycles are errors)."""
        key = (obj.qualified, field.name)
        if key in self._computed:
            return self._computed[key]
        if key in self._stack:
            cycle = [f"{o.split('.', 1)[1]}.{n}" for o, n in self._stack[self._stack.index(key) :]]
            raise FormulaError(
                "these formulas use each other in a circle: " + " → ".join([*cycle, cycle[0]]),
                0,
                "FORMULA_CYCLE",
            )
        self._stack.append(key)
        try:
            tree = self.check(field.formula or "", obj, allow_me=False)
        finally:
            self._stack.pop()
        self._computed[key] = tree
        return tree

    # -- nodes --------------------------------------------------------------------------

    def node(self, node: Node, scope: Scope) -> ir.Expr:
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, Me):
            if not scope.allow_me:
                raise FormulaError(
                    "@me (the signed-in user) cannot be used here: the value is stored "
                    "for everyone",
                    node.pos,
                    "FORMULA_CONTEXT",
                )
            if node.path:
                return self.me_path(node, scope)
            return ir.Me(USER, node.pos)
        if isinstance(node, Name):
            return self.name(node, scope)
        if isinstance(node, Unary):
            operand = self.node(node.operand, scope)
            if node.op == "+":
                return operand
            _expect_number(operand, "-")
            if isinstance(operand, ir.Const) and operand.value is None:
                return ir.Const(number(0), node.pos, None)
            return ir.Negate(
                operand.type if operand.type.kind == "number" else number(0), node.pos, operand
            )
        if isinstance(node, Binary):
            return self.binary(node, scope)
        assert isinstance(node, Call)
        return check_call(self, node, scope)

    def me_path(self, node: Me, scope: Scope) -> ir.Expr:
        """``@me.employee.manager_path``: the signed-in user's own record of an object with
        a unique user field, then fields of it."""
        step = node.path[0]
        found = self.catalog.user_linked(step, scope.obj.app)
        where = node.pos + len("@me.")
        if not found:
            raise FormulaError(
                f"@me.{step}: no object {step!r} with a unique user field links records to users",
                where,
                "FORMULA_NAME",
            )
        if len(found) > 1:
            names = ", ".join(sorted(info.qualified.replace(".", "__") for info, _ in found))
            raise FormulaError(
                f"@me.{step} is ambiguous; write one of: {names}", where, "FORMULA_NAME"
            )
        info, field = found[0]
        base = ir.MeRecord(record(info.qualified), node.pos, info.qualified, field)
        if len(node.path) == 1:
            return base
        return self.walk(Name(node.path[1:], where + len(step) + 1), info, base, scope)

    def name(self, node: Name, scope: Scope) -> ir.Expr:
        path = node.path
        if len(path) == 1 and path[0].upper() in ("NULL", "BLANK"):
            return ir.Const(BLANK, node.pos, None)
        return self.walk(node, scope.obj, None, scope)

    def walk(self, node: Name, obj: ObjectInfo, base: ir.Expr | None, scope: Scope) -> ir.Expr:
        """The fields of ``node.path`` read one after the other from ``base`` (None: the
        record the formula is about), which is a record of ``obj``."""
        path = node.path
        for i, step in enumerate(path):
            field = obj.fields.get(step)
            if field is None and step in obj.relations:
                return self.related(node, i, obj, base, scope)
            if field is None:
                what = "field" if base is None else f"field of {obj.name}"
                raise FormulaError(
                    f"unknown {what} {step!r}{suggest(step, obj.names())}",
                    node.pos + len(".".join(path[:i])) + (1 if i else 0),
                    "FORMULA_NAME",
                )
            base = self.read(obj, field, base, node.pos, scope)
            if i < len(path) - 1:
                if base.type.kind != "record" or not base.type.target:
                    raise FormulaError(
                        f"{'.'.join(path[: i + 1])!r} is a {base.type}, which has no fields",
                        node.pos,
                        "FORMULA_NAME",
                    )
                target = self.catalog.get(base.type.target)
                if target is None:
                    raise FormulaError(f"object {base.type.target} is not available here", node.pos)
                obj = target
        assert base is not None
        return base

    def read(
        self, obj: ObjectInfo, field: FieldInfo, base: ir.Expr | None, pos: int, scope: Scope
    ) -> ir.Expr:
        """Read ``field`` of the current record (``base`` None) or of record ``base``."""
        volatile = field.name in self.volatile(obj)
        if field.computed and volatile and not scope.allow_clock:
            raise FormulaError(
                f"{field.name!r} changes with the date (it uses TODAY() or NOW()), so it "
                "cannot be used in a stored formula",
                pos,
                "FORMULA_CONTEXT",
            )
        if base is None:
            body = self.computed(obj, field) if field.computed else None
            local = scope.inline == "local" and body is not None and _own_columns(body)
            if body is not None and (scope.inline is True or local or volatile):
                ftype = field.type
                if ftype.kind == "number" and body.type.kind == "number":
                    ftype = ftype.with_scale(body.type.scale)  # exact, not the column's scale
                return ir.Inline(ftype, pos, field.name, body)
            return ir.Local(field.type, pos, field.name)
        virtual = self.computed(obj, field) if field.computed and volatile else None
        return ir.Ref(field.type, pos, base, obj.qualified, field.name, virtual)

    def related(
        self, node: Name, i: int, parent: ObjectInfo, base: ir.Expr | None, scope: Scope
    ) -> ir.Expr:
        relation = parent.relations[node.path[i]]
        child = self.catalog[relation.child]
        rest = node.path[i + 1 :]
        value: ir.Expr | None = None
        if rest:
            inner = Scope(child, "local", scope.allow_me, scope.allow_clock)
            value = self.name(Name(rest, node.pos), inner)
            if value.type.kind == "list":
                raise FormulaError(
                    "a path can go through only one list of related records", node.pos
                )
        item = value.type if value is not None else record(child.qualified)
        return ir.Related(list_of(item), node.pos, base, child.qualified, relation.fk, value)

    # -- operators ----------------------------------------------------------------------

    def binary(self, node: Binary, scope: Scope) -> ir.Expr:
        left = self.node(node.left, scope)
        right = self.node(node.right, scope)
        op = node.op
        if op in COMPARISONS:
            return self.compare(node, left, right)
        if op == "&":
            for side in (left, right):
                if not side.type.scalar:
                    raise FormulaError(
                        f"cannot join a {side.type} with &", side.pos, "FORMULA_TYPE"
                    )
            return ir.Binary(TEXT, node.pos, "&", left, right)
        lk, rk = left.type.kind, right.type.kind
        if op in ("+", "-") and (lk in ("date", "datetime") or rk in ("date", "datetime")):
            moved = _date_arithmetic(node, left, right)
            if any(isinstance(s, ir.Const) and s.value is None for s in (left, right)):
                return ir.Const(moved.type, node.pos, None)  # with blank: blank
            return moved
        _expect_number(left, op)
        _expect_number(right, op)
        if any(isinstance(s, ir.Const) and s.value is None for s in (left, right)):
            return ir.Const(number(0), node.pos, None)  # arithmetic with blank is blank
        ls, rs = left.type.scale, right.type.scale
        result: FType
        if lk == "blank" or rk == "blank":
            result = BLANK
        elif op == "*":
            result = number(ls + rs)
        elif op == "/":
            result = number(MAX_SCALE)
        else:
            result = number(max(ls, rs))
        return ir.Binary(result, node.pos, op, left, right)

    def compare(self, node: Binary, left: ir.Expr, right: ir.Expr) -> ir.Expr:
        blank = [s for s in (left, right) if isinstance(s, ir.Const) and s.value is None]
        if blank:  # x = BLANK() tests for blank; x < BLANK() is never true
            other = right if blank[0] is left else left
            if node.op in ("=", "<>") and not (len(blank) == 2 or other.type.kind == "list"):
                name = "ISBLANK" if node.op == "=" else "ISNOTBLANK"
                fn = REGISTRY[name]
                return ir.Call(BOOLEAN, node.pos, fn, (other,))
            same = node.op in ("=", "<=", ">=") and len(blank) == 2
            return ir.Const(BOOLEAN, node.pos, same)
        left, right = _date_literal(left, right.type), _date_literal(right, left.type)
        shared = common(left.type, right.type)
        if shared is None or not shared.scalar:
            raise FormulaError(
                f"cannot compare a {left.type} with a {right.type}", node.pos, "FORMULA_TYPE"
            )
        if node.op not in ("=", "<>") and shared.kind in ("record", "user", "boolean"):
            raise FormulaError(
                f"{shared.plural} can only be compared with = and <>", node.pos, "FORMULA_TYPE"
            )
        for side, other in ((left, right), (right, left)):
            options = side.type.options
            value = other.value if isinstance(other, ir.Const) else None
            if options and isinstance(value, str) and value not in options:
                raise FormulaError(
                    f"{value!r} is not one of the options "
                    f"({', '.join(options)}){suggest(value, options)}",
                    other.pos,
                    "FORMULA_OPTION",
                )
        return ir.Binary(BOOLEAN, node.pos, node.op, left, right)


def _literal(node: Literal) -> ir.Const:
    value = node.value
    if isinstance(value, bool):
        return ir.Const(BOOLEAN, node.pos, value)
    if isinstance(value, str):
        return ir.Const(TEXT, node.pos, value)
    if isinstance(value, Decimal):
        if value and value.adjusted() >= MAX_DIGITS:
            raise FormulaError(
                f"the number is too large (more than {MAX_DIGITS} whole digits)",
                node.pos,
                "FORMULA_LIMIT",
            )
        exponent = value.as_tuple().exponent
        scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if scale > MAX_SCALE:
            value = value.quantize(Decimal(1).scaleb(-MAX_SCALE))
        return ir.Const(number(scale), node.pos, value if scale else int(value))
    return ir.Const(BLANK, node.pos, None)


def _expect_number(expr: ir.Expr, op: str) -> None:
    if expr.type.kind not in ("number", "blank", "any"):
        raise FormulaError(
            f"{op} needs numbers, but this is a {expr.type}", expr.pos, "FORMULA_TYPE"
        )


def date_literal(expr: ir.Expr) -> ir.Expr:
    """An ISO date text literal (``"2025-09-30"``) as a date, a date and time
    (``"2025-09-30 18:00"``) as a datetime; anything else unchanged."""
    if isinstance(expr, ir.Const) and isinstance(expr.value, str):
        text = expr.value.strip()
        try:
            if len(text) == 10:
                return ir.Const(DATE, expr.pos, date.fromisoformat(text))
            if len(text) > 10 and text[10] in " T":
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    return ir.Const(DATETIME, expr.pos, moment)
        except ValueError:
            return expr
    return expr


def _date_literal(expr: ir.Expr, other: FType) -> ir.Expr:
    return date_literal(expr) if other.kind in ("date", "datetime") else expr


def _date_arithmetic(node: Binary, left: ir.Expr, right: ir.Expr) -> ir.Expr:
    lk, rk = left.type.kind, right.type.kind
    if node.op == "-" and lk in ("date", "datetime") and rk in ("date", "datetime"):
        scale = 0 if lk == rk == "date" else MAX_SCALE
        return ir.Binary(number(scale), node.pos, "-", left, right)
    if lk in ("date", "datetime") and rk in ("number", "blank"):
        return ir.Binary(left.type, node.pos, node.op, left, right)
    if node.op == "+" and rk in ("date", "datetime") and lk in ("number", "blank"):
        return ir.Binary(right.type, node.pos, "+", right, left)
    raise FormulaError(
        f"cannot {'add' if node.op == '+' else 'subtract'} a {right.type} "
        f"{'to' if node.op == '+' else 'from'} a {left.type}",
        node.pos,
        "FORMULA_TYPE",
    )


__all__ = ["DATETIME", "Checker", "Scope", "date_literal"]


def _own_columns(body: ir.Expr) -> bool:
    """Does a checked formula read only its record's own columns (no other record)?"""
    return not any(isinstance(n, (ir.Ref, ir.Related, ir.Aggregate)) for n in body.walk())
