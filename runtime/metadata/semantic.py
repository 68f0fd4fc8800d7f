"""Checks past the JSON Schema: names, duplicates, references that resolve (also into
required apps), version ranges, option lists, defaults, patterns.

Written defensively: it runs even when the schema already found problems, skipping what
it cannot read, so that one run reports every mistake.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.errors import Issue
from runtime.formula.parser import FormulaSyntaxError, parse
from runtime.formula.sql import condition_sql
from runtime.metadata.default_checks import check_default
from runtime.metadata.fieldtypes import FIELD_TYPES, CoerceError, coerce_value, option_values
from runtime.metadata.model import PLACEHOLDER, SOFT_DELETE_COLUMN, SYSTEM_COLUMNS
from runtime.metadata.regexsafe import regex_problem
from runtime.metadata.semver import Version, VersionError, VersionRange
from runtime.metadata.workflows import STATE_COLUMN
from runtime.suggest import suggest

Resolver = Callable[[str], Mapping[str, Any] | None]
"""Finds the definition of a required app by name (installed, or beside the package)."""

RESERVED_APP_NAMES = frozenset(
    {
        "tenon",
        "system",
        "api",
        "admin",
        "auth",
        "designer",
        "static",
        "apps",
        "app",
        "me",
        "tasks",
        "health",
        "openapi",
    }
)
RESERVED_FIELD_NAMES = frozenset(
    {*SYSTEM_COLUMNS, SOFT_DELETE_COLUMN, "state"}
    | {"me", "true", "false", "null", "blank", "and", "or", "not", "today", "now"}
    | {k.lower() for k in keyword.kwlist}
)
BUILTIN_ROLES = frozenset({"authenticated", "system_admin"})
RECORD_ACTIONS = frozenset({"read", "create", "update", "delete", "export", "import"})
FORMULA_KEYS = frozenset(
    {
        "formula",
        "when",
        "where",
        "visible_when",
        "required_when",
        "readonly_when",
        "filter",
        "condition",
        "scope",
    }
)
_AUTO_NUMBER = re.compile(r"^(?:[A-Za-z0-9_\-/.]|\{(?:YYYY|YY|MM|DD|#{1,12})\})+$")


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return (
        [(i, v) for i, v in enumerate(value) if isinstance(v, dict)]
        if isinstance(value, list)
        else []
    )


@dataclass
class Checker:
    doc: dict[str, Any]
    resolver: Resolver | None
    issues: list[Issue] = field(default_factory=list)

    def add(self, path: str, message: str, code: str = "INVALID") -> None:
        self.issues.append(Issue(path, message, code))

    @property
    def app(self) -> str:
        return str(self.doc.get("name", ""))

    # -- apps and objects across ``requires`` -------------------------------------------

    def required_app(self, name: str) -> Mapping[str, Any] | None:
        if name == self.app:
            return self.doc
        if self.resolver is None:
            return None
        return self.resolver(name)

    def object_spec(self, ref: str) -> Mapping[str, Any] | None:
        app, _, obj = ref.rpartition(".")
        source = self.doc if not app or app == self.app else self.required_app(app)
        if source is None:
            return None
        for _, spec in _dicts(source.get("objects")):
            if spec.get("name") == obj:
                return spec
        return None

    def check_object_ref(self, path: str, ref: Any) -> Mapping[str, Any] | None:
        """Report when ``ref`` names no object this app can see; return the object spec."""
        if not isinstance(ref, str):
            return None
        app, _, obj = ref.rpartition(".")
        if app and app != self.app:
            requires = self.doc.get("requires")
            if not isinstance(requires, dict) or app not in requires:
                self.add(
                    path,
                    f'refers to {ref}, but this app does not require {app!r}; add it to "requires"',
                    "UNRESOLVED",
                )
                return None
            other = self.required_app(app)
            if other is None:
                return None  # the missing app itself is reported once, at /requires
            names = [str(s.get("name")) for _, s in _dicts(other.get("objects"))]
            spec = self.object_spec(ref)
            if spec is None:
                self.add(
                    path,
                    f"refers to object {obj!r}, which app {app!r} does not define"
                    f"{suggest(obj, names)}",
                    "UNRESOLVED",
                )
            return spec
        spec = self.object_spec(obj)
        if spec is None:
            names = [str(s.get("name")) for _, s in _dicts(self.doc.get("objects"))]
            self.add(
                path,
                f"refers to object {obj!r}, which this app does not define{suggest(obj, names)}",
                "UNRESOLVED",
            )
        return spec

    # -- the checks ---------------------------------------------------------------------

    def run(self) -> list[Issue]:
        self.check_manifest()
        objects = _dicts(self.doc.get("objects"))
        self.unique_names(objects, "/objects", "object")
        current = {o.get("name") for _, o in objects}
        for i, obj in objects:
            if obj.get("renamed_from") in current:
                self.add(
                    f"/objects/{i}/renamed_from",
                    f"cannot be {obj['renamed_from']!r}: "
                    "an object of that name still exists in this version",
                )
            self.check_object(f"/objects/{i}", obj)
        self.check_related_names(objects)
        self.check_formulas(self.doc, "")
        return self.issues

    def check_formulas(self, node: Any, path: str) -> None:
        """Every formula in the definition must parse (types are checked by the engine)."""
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{path}/{key}"
                if key in FORMULA_KEYS and isinstance(value, str):
                    try:
                        parse(value)
                    except FormulaSyntaxError as exc:
                        self.add(here, f"formula error: {exc}", "FORMULA_SYNTAX")
                else:
                    self.check_formulas(value, here)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self.check_formulas(value, f"{path}/{i}")

    def check_manifest(self) -> None:
        name = self.doc.get("name")
        if isinstance(name, str) and name in RESERVED_APP_NAMES:
            self.add("/name", f"{name!r} is reserved by Tenon; choose another app name", "RESERVED")
        requires = self.doc.get("requires")
        if not isinstance(requires, dict):
            return
        for dep, text in requires.items():
            path = f"/requires/{dep}"
            if dep == name:
                self.add(path, "an app cannot require itself")
                continue
            if not isinstance(text, str):
                continue
            try:
                wanted = VersionRange.parse(text)
            except VersionError as exc:
                self.add(path, str(exc), "BAD_VERSION_RANGE")
                continue
            if self.resolver is None:
                continue
            other = self.resolver(dep)
            if other is None:
                self.add(
                    path,
                    f"requires app {dep!r}, which is neither installed nor found "
                    "beside this package",
                    "MISSING_DEPENDENCY",
                )
                continue
            try:
                have = Version.parse(str(other.get("version")))
            except VersionError:
                continue
            if not wanted.admits(have):
                self.add(
                    path,
                    f"requires {dep} {text}, but version {have} is the one available",
                    "DEPENDENCY_VERSION",
                )

    def unique_names(
        self, items: list[tuple[int, dict[str, Any]]], base: str, what: str, key: str = "name"
    ) -> None:
        first: dict[Any, int] = {}
        for i, item in items:
            value = item.get(key)
            if not isinstance(value, str):
                continue
            if value in first:
                self.add(
                    f"{base}/{i}/{key}",
                    f"{what} name {value!r} is used twice (first at {base}/{first[value]})",
                    "DUPLICATE",
                )
            else:
                first[value] = i

    def check_object(self, base: str, obj: dict[str, Any]) -> None:
        fields = _dicts(obj.get("fields"))
        self.unique_names(fields, f"{base}/fields", "field")
        names = {str(f.get("name")) for _, f in fields}
        renames: dict[str, int] = {}
        for i, spec in fields:
            path = f"{base}/fields/{i}"
            fname = spec.get("name")
            if isinstance(fname, str) and fname in RESERVED_FIELD_NAMES:
                self.add(
                    f"{path}/name",
                    f"{fname!r} is reserved (system column or formula "
                    "keyword); choose another field name",
                    "RESERVED",
                )
            old = spec.get("renamed_from")
            if isinstance(old, str):
                if old in names:
                    self.add(
                        f"{path}/renamed_from",
                        f"cannot be {old!r}: a field of that name still exists in this version",
                    )
                elif old in renames:
                    self.add(
                        f"{path}/renamed_from",
                        f"{old!r} is renamed twice (also at {base}/fields/{renames[old]})",
                        "DUPLICATE",
                    )
                renames[old] = i
            self.check_field(path, spec)
        label = obj.get("label_field")
        if isinstance(label, str) and label not in names:
            self.add(
                f"{base}/label_field",
                f"names field {label!r}, which the object does not have{suggest(label, names)}",
                "UNRESOLVED",
            )
        for i, rule in _dicts(obj.get("rules")):
            named: list[tuple[str, Any]] = [("field", rule.get("field"))]
            on = enumerate(rule.get("on") or [])  # the workflow's state counts as a field
            named += [(f"on/{k}", n) for k, n in on if n != "state"]
            message = rule.get("message")
            texts = message.values() if isinstance(message, dict) else [message]
            named += [("message", n) for t in texts for n in PLACEHOLDER.findall(str(t))]
            for key, target in named:
                if isinstance(target, str) and target not in names:
                    self.add(
                        f"{base}/rules/{i}/{key}",
                        f"names field {target!r}, which the object "
                        f"does not have{suggest(target, names)}",
                        "UNRESOLVED",
                    )
        constraints = _dicts(obj.get("constraints"))
        self.unique_names(constraints, f"{base}/constraints", "constraint")
        columns = {
            str(f.get("name")): str(FIELD_TYPES[f["type"]].storage)
            for _, f in fields
            if f.get("type") in FIELD_TYPES and FIELD_TYPES[f["type"]].storage
        }
        flows = _dicts(self.doc.get("workflows"))
        if any(flow.get("object") == obj.get("name") for _, flow in flows):
            columns.setdefault(STATE_COLUMN, "text")  # "one open plan": a state may decide
        for i, spec in constraints:
            where = spec.get("where")
            if isinstance(where, str):
                try:
                    parse(where)
                except FormulaSyntaxError:
                    continue  # reported with the other syntax errors
                try:
                    condition_sql(where, columns, "sqlite")
                except FormulaSyntaxError as exc:
                    self.add(
                        f"{base}/constraints/{i}/where",
                        f"condition error: {exc}",
                        "FORMULA_UNSUPPORTED",
                    )
        for kind in ("constraints", "indexes"):
            for i, spec in _dicts(obj.get(kind)):
                self.check_field_list(f"{base}/{kind}/{i}/fields", spec.get("fields"), fields)

    def check_field_list(
        self, path: str, listed: Any, fields: list[tuple[int, dict[str, Any]]]
    ) -> None:
        if not isinstance(listed, list):
            return
        by_name = {f.get("name"): f for _, f in fields}
        seen = set()
        for k, name in enumerate(listed):
            if not isinstance(name, str):
                continue
            spec = by_name.get(name)
            if name in seen:
                self.add(f"{path}/{k}", f"field {name!r} is listed twice", "DUPLICATE")
            seen.add(name)
            if spec is None:
                self.add(
                    f"{path}/{k}",
                    f"names field {name!r}, which the object does not have"
                    f"{suggest(name, map(str, by_name))}",
                    "UNRESOLVED",
                )
            elif FIELD_TYPES.get(str(spec.get("type"))) is not None:
                storage = FIELD_TYPES[str(spec["type"])].storage
                if storage in (None, "json"):
                    self.add(
                        f"{path}/{k}",
                        f"field {name!r} is a {spec['type']} field and "
                        "cannot be indexed or made unique",
                    )

    def check_field(self, path: str, spec: dict[str, Any]) -> None:
        ftype = FIELD_TYPES.get(str(spec.get("type")))
        if ftype is None:
            return  # reported by the schema
        for key in sorted(set(spec) - ftype.allowed_keys):
            users = sorted(t.name for t in FIELD_TYPES.values() if key in t.keys)
            self.add(
                f"{path}/{key}",
                f"{key!r} does not apply to a {ftype.name} field"
                + (f" (it applies to {', '.join(users)})" if users else ""),
            )
        for key in sorted(ftype.needs - set(spec)):
            self.add(path, f"a {ftype.name} field needs {key!r}", "MISSING")
        if ftype.storage is None:
            self.check_computed(path, spec)
        elif ftype.storage == "json" and (spec.get("unique") or spec.get("index")):
            self.add(path, f"a {ftype.name} field cannot be unique or indexed")
        if (
            ftype.storage in ("decimal",)
            and isinstance(spec.get("precision"), int)
            and isinstance(spec.get("scale"), int)
            and spec["scale"] > spec["precision"]
        ):
            self.add(f"{path}/scale", f"cannot exceed the precision ({spec['precision']})")
        if "options" in spec and isinstance(spec["options"], list):
            self.check_options(f"{path}/options", spec["options"])
        if ftype.name == "reference":
            self.check_object_ref(f"{path}/to", spec.get("to"))
            if spec.get("on_delete") == "set_null" and spec.get("required"):
                self.add(f"{path}/on_delete", "set_null cannot apply to a required field")
        pattern = spec.get("pattern")
        if isinstance(pattern, str):
            if ftype.name == "auto_number":
                if not _AUTO_NUMBER.match(pattern) or len(re.findall(r"\{#+\}", pattern)) != 1:
                    self.add(
                        f"{path}/pattern",
                        f"{pattern!r} must contain one counter such as "
                        "{####} and may use {YYYY}, {YY}, {MM}, {DD}, letters, digits and "
                        "- _ / .",
                    )
            else:
                problem = regex_problem(pattern)
                if problem:
                    self.add(f"{path}/pattern", f"pattern refused: it {problem}", "UNSAFE_PATTERN")
        if ftype.coerce is not None:
            self.check_values(path, spec)

    def check_computed(self, path: str, spec: dict[str, Any]) -> None:
        for key in ("default", "unique", "required"):
            if spec.get(key):
                self.add(f"{path}/{key}", f"a computed ({spec['type']}) field cannot have {key!r}")
        returns = spec.get("returns")
        if returns == "select" and "options" not in spec:
            self.add(path, "a formula returning select needs 'options'", "MISSING")
        if returns == "reference":
            if "to" not in spec:
                self.add(path, "a formula returning reference needs 'to'", "MISSING")
            else:
                self.check_object_ref(f"{path}/to", spec.get("to"))

    def check_options(self, path: str, options: list[Any]) -> None:
        seen: dict[str, int] = {}
        for k, opt in enumerate(options):
            value = (
                opt if isinstance(opt, str) else opt.get("value") if isinstance(opt, dict) else None
            )
            if not isinstance(value, str):
                continue
            if value in seen:
                self.add(
                    f"{path}/{k}",
                    f"option {value!r} is listed twice (first at {path}/{seen[value]})",
                    "DUPLICATE",
                )
            else:
                seen[value] = k

    def check_values(self, path: str, spec: dict[str, Any]) -> None:
        if spec.get("type") in ("select", "multi_select") and not option_values(spec):
            return
        limits = {k: spec[k] for k in ("min", "max") if k in spec}
        loose = {k: v for k, v in spec.items() if k not in ("min", "max")}
        checked: dict[str, Any] = {}
        for key, bound in limits.items():
            try:
                checked[key] = coerce_value(bound, loose)
            except CoerceError as exc:
                self.add(f"{path}/{key}", f"{bound!r} {exc}")
            except (TypeError, ValueError, ArithmeticError):
                self.add(f"{path}/{key}", f"{bound!r} is not a valid bound")
        if len(checked) == 2 and checked["min"] > checked["max"]:
            self.add(f"{path}/min", "is greater than max")
        check_default(self, path, spec)

    def check_related_names(self, objects: list[tuple[int, dict[str, Any]]]) -> None:
        """Reverse relations must be unique per target and must not shadow its fields."""
        seen: dict[tuple[str, str], str] = {}
        for i, obj in objects:
            for k, spec in _dicts(obj.get("fields")):
                related = spec.get("related_name")
                target = spec.get("to")
                if not isinstance(related, str) or not isinstance(target, str):
                    continue
                path = f"/objects/{i}/fields/{k}/related_name"
                qualified = target if "." in target else f"{self.app}.{target}"
                key = (qualified, related)
                if key in seen:
                    self.add(
                        path,
                        f"{qualified} already has a relation named {related!r} (at {seen[key]})",
                        "DUPLICATE",
                    )
                seen[key] = path
                target_spec = self.object_spec(qualified)
                if target_spec and any(
                    f.get("name") == related for _, f in _dicts(target_spec.get("fields"))
                ):
                    self.add(path, f"{related!r} is already a field of {qualified}")
