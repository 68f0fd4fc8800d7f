"""The permission rules apps declare, and what they give one actor on one object.

A rule (an item of an app's ``permissions``) gives a role — ``app.role``, or
``authenticated`` for every signed-in user — some actions on an object:

* ``actions``: ``read``, ``create``, ``update``, ``delete``, ``export``, ``import`` and the
  object's workflow actions (``submit``, ``approve`` …);
* ``scope``: a condition in the formula language limiting the rows, with ``@me`` (the
  signed-in user), ``@me.employee`` (the user's own record of an object with a unique user
  field) and ``TODAY()`` for time-gated rows. No scope: every row;
* ``fields``: ``read`` and ``write`` lists. Without a ``read`` list every field is readable;
  without a ``write`` list every readable stored, non-computed field is writable;
* ``sensitivity``: the classes (``compensation``, ``talent``, ``personal``) this rule
  reveals. A field with a sensitivity class is hidden by every rule that neither lists
  the class nor names the field in its ``fields`` lists.

Rules combine as a union: a row is visible when any read rule's scope matches it, and a
field of that row is visible when a matching rule grants it. Nothing here reads data;
``runtime.security.guard`` turns an ``Access`` into SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from runtime.formula import ir
from runtime.formula.engine import FormulaEngine
from runtime.metadata.model import SYSTEM_COLUMNS, AppDef, FieldDef, ObjectDef, qualify
from runtime.metadata.workflows import STATE_COLUMN
from runtime.security.actor import AUTHENTICATED, SYSTEM_ADMIN, Actor

ALWAYS_READABLE = frozenset({*SYSTEM_COLUMNS, STATE_COLUMN})


@dataclass(frozen=True)
class Rule:
    app: str  # the app that declares the rule
    index: int  # its position in that app's permissions
    role: str  # qualified ("core_hr.hr_admin"), "authenticated" or "system_admin"
    obj: str  # qualified object
    actions: frozenset[str]
    scope: str | None
    read: frozenset[str] | None
    write: frozenset[str] | None
    sensitivity: frozenset[str]

    @property
    def where(self) -> str:
        """Where the rule is declared, as a JSON pointer into its app."""
        return f"{self.app}:/permissions/{self.index}"

    def describe(self) -> str:
        scope = f" where {self.scope}" if self.scope else " on every row"
        return f"{self.role} may {', '.join(sorted(self.actions))}{scope} ({self.where})"


def _role(app: str, role: str) -> str:
    if role in (AUTHENTICATED, SYSTEM_ADMIN) or "." in role:
        return role
    return f"{app}.{role}"


def _names(value: object) -> frozenset[str] | None:
    if not isinstance(value, list):
        return None
    return frozenset(str(v) for v in value)


@dataclass(frozen=True)
class Access:
    """What the rules that apply give one actor for one action on one object."""

    obj: ObjectDef
    action: str
    rules: tuple[Rule, ...]
    grants: Mapping[str, tuple[Rule, ...]]  # field -> the applicable rules that reveal it

    @property
    def allowed(self) -> bool:
        return bool(self.rules)

    @property
    def unrestricted(self) -> bool:
        """Some applicable rule has no scope: every row."""
        return any(r.scope is None for r in self.rules)

    @cached_property
    def fields(self) -> frozenset[str]:
        """Fields visible in at least one row (the union over the rules)."""
        return frozenset(self.grants)

    def everywhere(self, name: str) -> bool:
        """Is ``name`` visible in every row the actor can see (no per-row mask needed)?"""
        granted = self.grants.get(name, ())
        if not granted:
            return False
        if len(granted) == len(self.rules):
            return True
        return any(r.scope is None for r in granted)


@dataclass(frozen=True, eq=False)
class ScopeInfo:
    """A rule's checked scope and what its SQL depends on besides the rule itself."""

    tree: ir.Expr
    uses_now: bool  # reads the time of day (else only the date)
    linked: tuple[ir.MeRecord, ...]  # the user's own records it reads, one per object

    @classmethod
    def of(cls, tree: ir.Expr) -> ScopeInfo:
        nodes = list(tree.walk())
        records: dict[tuple[str, str], ir.MeRecord] = {}
        for node in nodes:
            if isinstance(node, ir.MeRecord):
                records.setdefault((node.obj, node.field), node)
        uses_now = any(isinstance(n, ir.Call) and n.function.name == "NOW" for n in nodes)
        return cls(tree, uses_now, tuple(records.values()))


class Policy:
    """Every rule of the installed apps, indexed by object."""

    def __init__(self, apps: Mapping[str, AppDef], engine: FormulaEngine | None = None) -> None:
        self.apps = dict(apps)
        self.engine = engine or FormulaEngine(a.raw for a in self.apps.values())
        self.rules: dict[str, list[Rule]] = {}
        self._scopes: dict[str, ScopeInfo] = {}
        for app in self.apps.values():
            for i, spec in enumerate(app.raw.get("permissions") or []):
                fields = spec.get("fields") or {}
                rule = Rule(
                    app=app.name,
                    index=i,
                    role=_role(app.name, str(spec["role"])),
                    obj=qualify(app.name, str(spec["object"])),
                    actions=frozenset(str(a) for a in spec["actions"]),
                    scope=spec.get("scope") or None,
                    read=_names(fields.get("read")),
                    write=_names(fields.get("write")),
                    sensitivity=frozenset(str(s) for s in spec.get("sensitivity") or []),
                )
                self.rules.setdefault(rule.obj, []).append(rule)

    def object(self, qualified: str) -> ObjectDef | None:
        app, _, name = qualified.partition(".")
        definition = self.apps.get(app)
        if definition is None:
            return None
        return definition.by_name.get(name)

    # -- rules --------------------------------------------------------------------------

    def applicable(self, actor: Actor, obj: str, action: str) -> tuple[Rule, ...]:
        if actor.read_only and action != "read" and action != "export":
            return ()
        return tuple(
            r for r in self.rules.get(obj, ()) if action in r.actions and actor.has_role(r.role)
        )

    def access(self, actor: Actor, obj: str, action: str = "read") -> Access:
        definition = self.object(obj)
        if definition is None:
            raise KeyError(obj)
        rules = self._effective(self.applicable(actor, obj, action), definition)
        grants: dict[str, list[Rule]] = {}
        for rule in rules:
            for name in self.readable(rule, definition):
                grants.setdefault(name, []).append(rule)
        return Access(definition, action, rules, {k: tuple(v) for k, v in grants.items()})

    def _effective(self, rules: tuple[Rule, ...], obj: ObjectDef) -> tuple[Rule, ...]:
        """``rules`` without the scoped ones that an unscoped rule already covers (every
        row, at least the same fields): they change nothing and would cost SQL."""
        everywhere = [r for r in rules if r.scope is None]
        if not everywhere:
            return rules

        def covered(rule: Rule) -> bool:
            return any(
                self.readable(u, obj) >= self.readable(rule, obj)
                and self.writable(u, obj) >= self.writable(rule, obj)
                for u in everywhere
            )

        return tuple(r for r in rules if r.scope is None or not covered(r))

    def scope(self, rule: Rule) -> ir.Expr | None:
        """The checked scope condition (checked trees are cached by the engine)."""
        if rule.scope is None:
            return None
        return self.engine.check(rule.scope, rule.obj, expect="boolean")

    def scope_info(self, rule: Rule) -> ScopeInfo:
        """The checked scope and what its SQL depends on, worked out once per rule."""
        info = self._scopes.get(rule.where)
        if info is None:
            tree = self.scope(rule)
            assert tree is not None, "only scoped rules have a scope"
            info = self._scopes.setdefault(rule.where, ScopeInfo.of(tree))
        return info

    # -- fields -------------------------------------------------------------------------

    @staticmethod
    def _revealed(rule: Rule, fdef: FieldDef, listed: frozenset[str] | None) -> bool:
        sensitivity = fdef.spec.get("sensitivity")
        if not sensitivity or sensitivity in rule.sensitivity:
            return True
        return listed is not None and fdef.name in listed

    def readable(self, rule: Rule, obj: ObjectDef) -> frozenset[str]:
        names = set(ALWAYS_READABLE)
        for fdef in obj.fields:
            if rule.read is not None and fdef.name not in rule.read:
                continue
            if self._revealed(rule, fdef, rule.read):
                names.add(fdef.name)
        return frozenset(names)

    def writable(self, rule: Rule, obj: ObjectDef) -> frozenset[str]:
        if not rule.actions & {"create", "update", "import"}:
            return frozenset()
        out = set()
        listed = rule.write if rule.write is not None else rule.read
        for fdef in obj.fields:
            if fdef.computed or fdef.spec.get("system"):
                continue
            if rule.write is not None and fdef.name not in rule.write:
                continue
            if rule.write is None and rule.read is not None and fdef.name not in rule.read:
                continue
            if self._revealed(rule, fdef, listed):
                out.add(fdef.name)
        return frozenset(out)
