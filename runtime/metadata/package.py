"""Read an app package — a directory, a .zip, or one .json file — as untrusted input.

Layout: ``app.json`` holds the manifest and may hold every section; the folders
``objects/``, ``forms/``, ``views/``, ``workflows/``, ``automations/``, ``roles/``,
``permissions/`` and ``dashboards/`` may add items, one item (or a list of items) per
``.json`` file, appended in file-name order. A zip may wrap everything in one top folder.
Other files (a README, images) are allowed and ignored.

Safety: sizes, file counts and compression ratios are bounded and measured while reading
(zip headers can lie); names with ``..``, absolute paths, backslashes and symlinks are
refused; JSON with duplicate keys, NaN or excessive nesting is refused. Nothing is ever
fetched: there is no ``$ref`` in the format.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from runtime.errors import Issue, PackageError

SECTIONS = (
    "objects",
    "forms",
    "views",
    "workflows",
    "automations",
    "roles",
    "permissions",
    "dashboards",
)
MANIFEST = "app.json"


@dataclass(frozen=True)
class Limits:
    package_bytes: int = 20 * 1024 * 1024
    total_bytes: int = 50 * 1024 * 1024
    file_bytes: int = 5 * 1024 * 1024
    files: int = 2000
    ratio: int = 100
    json_depth: int = 64


DEFAULT_LIMITS = Limits()


@dataclass
class Package:
    """A package's merged definition and where each part of it came from."""

    definition: dict[str, Any]
    origin: str
    # (pointer prefix in the merged definition, file, pointer prefix inside that file)
    sources: list[tuple[str, str, str]] = field(default_factory=list)

    def locate(self, issue: Issue) -> Issue:
        """Attach the file and in-file pointer of ``issue.path`` when the package was split."""
        if len(self.sources) <= 1 and (not self.sources or self.sources[0][1] == MANIFEST):
            return issue
        best = None
        for prefix, file, file_prefix in self.sources:
            inside = issue.path == prefix or issue.path.startswith(prefix + "/") or prefix == ""
            if inside and (best is None or len(prefix) > len(best[0])):
                best = (prefix, file, file_prefix)
        if best is None:
            return issue
        prefix, file, file_prefix = best
        inner = file_prefix + issue.path[len(prefix) :]
        return Issue(issue.path, issue.message, issue.code, file, inner)


def _fail(origin: str, message: str) -> PackageError:
    return PackageError(
        f"Package {origin} cannot be read: {message}", [Issue("", message, "INVALID_PACKAGE")]
    )


def _safe_name(name: str) -> str | None:
    """The normalised relative name of an archive member, or None when it is unsafe."""
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or ":" in name.split("/")[0]
    ):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _read_zip(data: bytes, origin: str, limits: Limits) -> dict[str, bytes]:
    if len(data) > limits.package_bytes:
        raise _fail(origin, f"the package is larger than {_size(limits.package_bytes)}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _fail(origin, "the file is not a readable .zip archive") from None
    files: dict[str, bytes] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.files:
            raise _fail(origin, f"the package has more than {limits.files} entries")
        for info in infos:
            name = _safe_name(info.filename)
            if name is None:
                raise _fail(
                    origin, f"the archive entry {info.filename!r} points outside the package"
                )
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _fail(origin, f"the archive entry {name!r} is a symbolic link")
            if info.is_dir() or _ignored(name):
                continue
            if info.flag_bits & 0x1:
                raise _fail(origin, f"the archive entry {name!r} is encrypted")
            if name in files:
                raise _fail(origin, f"the archive holds {name!r} twice")
            if info.file_size > limits.file_bytes:
                raise _fail(origin, f"{name} is larger than {_size(limits.file_bytes)}")
            try:
                content = _read_member(archive, info, limits)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
                raise _fail(origin, f"the archive entry {name!r} is damaged") from None
            if content is None:
                raise _fail(origin, f"{name} expands far beyond its compressed size (a zip bomb?)")
            total += len(content)
            if total > limits.total_bytes:
                raise _fail(origin, f"the package expands to more than {_size(limits.total_bytes)}")
            files[name] = content
    return _strip_top_folder(files)


def _ignored(name: str) -> bool:
    """Hidden files and macOS archive metadata (``__MACOSX/``, ``._x``), as in folders."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _size(limit: int) -> str:
    return f"{limit // 1048576} MB" if limit >= 1048576 else f"{limit:,} bytes"


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes | None:
    """Read one member, measuring what it really expands to; None when it exceeds the bounds."""
    ceiling = min(limits.file_bytes, max(info.compress_size, 1) * limits.ratio + 65536)
    chunks = []
    size = 0
    with archive.open(info) as handle:
        while True:
            chunk = handle.read(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > ceiling:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _strip_top_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    if MANIFEST in files or not files:
        return files
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files):
        top = tops.pop()
        return {name[len(top) + 1 :]: content for name, content in files.items()}
    return files


def _read_dir(root: Path, limits: Limits) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    origin = root.name
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in list(dirnames):
            if (Path(dirpath) / d).is_symlink():
                raise _fail(origin, f"{_rel(root, Path(dirpath) / d)} is a symbolic link")
            if d.startswith(".") or d == "__pycache__":
                dirnames.remove(d)
        for f in sorted(filenames):
            path = Path(dirpath) / f
            rel = _rel(root, path)
            if f.startswith("."):
                continue
            if path.is_symlink():
                raise _fail(origin, f"{rel} is a symbolic link")
            if len(files) >= limits.files:
                raise _fail(origin, f"the package has more than {limits.files} files")
            size = path.stat().st_size
            if size > limits.file_bytes:
                raise _fail(origin, f"{rel} is larger than {_size(limits.file_bytes)}")
            total += size
            if total > limits.total_bytes:
                raise _fail(origin, f"the package is larger than {_size(limits.total_bytes)}")
            files[rel] = path.read_bytes()
    return files


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _depth(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def parse_json(
    content: bytes, name: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[Any, Issue | None]:
    """Parse one JSON file strictly; returns (value, None) or (None, the problem)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, Issue("", f"is not UTF-8 text (byte {exc.start})", "INVALID_JSON", name, "")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        return None, Issue(
            "", f"has the key {exc.args[0]!r} twice in one object", "INVALID_JSON", name, ""
        )
    except json.JSONDecodeError as exc:
        return None, Issue(
            "",
            f"is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "INVALID_JSON",
            name,
            "",
        )
    except RecursionError:
        return None, Issue("", "is nested too deeply", "INVALID_JSON", name, "")
    except ValueError as exc:
        return None, Issue("", f"is not valid JSON: {exc}", "INVALID_JSON", name, "")
    if not _depth(value, limits.json_depth):
        return None, Issue(
            "", f"is nested more than {limits.json_depth} levels deep", "INVALID_JSON", name, ""
        )
    return value, None


def _section_files(files: dict[str, bytes], section: str) -> Iterator[tuple[str, bytes]]:
    prefix = section + "/"
    for name in sorted(files):
        if name.startswith(prefix) and name.endswith(".json"):
            yield name, files[name]


def assemble(files: dict[str, bytes], origin: str, limits: Limits = DEFAULT_LIMITS) -> Package:
    """Merge a package's files into one definition; every JSON problem is reported at once."""
    issues: list[Issue] = []
    if MANIFEST not in files:
        raise _fail(origin, "the package has no app.json at its top level")
    manifest, problem = parse_json(files[MANIFEST], MANIFEST, limits)
    if problem:
        issues.append(problem)
    elif not isinstance(manifest, dict):
        issues.append(
            Issue("", "must hold a JSON object (the app manifest)", "INVALID_JSON", MANIFEST, "")
        )
    definition: dict[str, Any] = manifest if isinstance(manifest, dict) else {}
    sources = [("", MANIFEST, "")]
    known = {MANIFEST}
    for section in SECTIONS:
        for name, content in _section_files(files, section):
            known.add(name)
            value, problem = parse_json(content, name, limits)
            if problem:
                issues.append(problem)
                continue
            items = value if isinstance(value, list) else [value]
            target = definition.setdefault(section, [])
            if not isinstance(target, list):
                issues.append(
                    Issue(
                        f"/{section}",
                        f"must be a list, since {section}/ holds files",
                        "INVALID",
                        MANIFEST,
                        f"/{section}",
                    )
                )
                continue
            for k, item in enumerate(items):
                pointer_in_file = f"/{k}" if isinstance(value, list) else ""
                sources.append((f"/{section}/{len(target)}", name, pointer_in_file))
                target.append(item)
    for name in sorted(files):
        if name.endswith(".json") and name not in known:
            issues.append(
                Issue(
                    "",
                    "is a JSON file outside app.json and the section folders "
                    f"({', '.join(s + '/' for s in SECTIONS)})",
                    "UNKNOWN_FILE",
                    name,
                    "",
                )
            )
    if issues:
        raise PackageError.from_issues(f"Package {origin} cannot be read", issues)
    return Package(definition, origin, sources)


def read_package(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Package:
    """Read a package from a directory, a .zip file or a single .json file."""
    p = Path(path)
    origin = p.name or str(p)
    if p.is_dir():
        return assemble(_read_dir(p, limits), origin, limits)
    if not p.exists():
        raise _fail(origin, "no such file or directory")
    size = p.stat().st_size
    if p.suffix.lower() == ".json":
        if size > limits.file_bytes:
            raise _fail(origin, f"the file is larger than {_size(limits.file_bytes)}")
        return assemble({MANIFEST: p.read_bytes()}, origin, limits)
    if size > limits.package_bytes:
        raise _fail(origin, f"the package is larger than {_size(limits.package_bytes)}")
    return read_package_bytes(p.read_bytes(), origin, limits)


def read_package_bytes(
    data: bytes, origin: str = "upload", limits: Limits = DEFAULT_LIMITS
) -> Package:
    """Read a package sent as bytes: a .zip archive, or one JSON document."""
    if data[:2] == b"PK":
        return assemble(_read_zip(data, origin, limits), origin, limits)
    if len(data) > limits.file_bytes:
        raise _fail(origin, f"the document is larger than {_size(limits.file_bytes)}")
    return assemble({MANIFEST: data}, origin, limits)


def write_package(definition: dict[str, Any]) -> bytes:
    """A deterministic .zip of ``definition``: app.json plus one file per object."""
    objects = definition.get("objects") or []
    manifest = {k: v for k, v in definition.items() if k != "objects" or not objects}
    entries = {MANIFEST: manifest}
    width = max(2, len(str(len(objects))))
    for i, obj in enumerate(objects):
        entries[f"objects/{i + 1:0{width}d}_{obj['name']}.json"] = obj
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries, key=lambda n: (n != MANIFEST, n)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            text = json.dumps(entries[name], ensure_ascii=False, indent=2) + "\n"
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()
