"""The language of the user interface: English or Chinese.

* Chosen per request: the ``tenon_lang`` cookie (the language switch), else the browser's
  ``Accept-Language``, else English. Set in the request's context by :class:`Language`
  (on the event loop, so the worker thread that renders the page sees it).
* UI strings are gettext messages: templates and pages call ``_("Save")``; the Chinese
  catalog is ``locale/zh/LC_MESSAGES/messages.po`` (read with Babel; extract new
  strings with ``pybabel extract -F babel.cfg -o messages.pot .``).
* App labels (titles of apps, objects, fields, options) come from the app definitions:
  :func:`label` picks the language from an ``{"en": …, "zh": …}`` value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from starlette.types import ASGIApp, Receive, Scope, Send

LANGUAGES = ("en", "zh")
DEFAULT = "en"
COOKIE = "tenon_lang"
LOCALES = Path(__file__).parent / "locale"
BABEL_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}

_current: ContextVar[str] = ContextVar("tenon_lang", default=DEFAULT)


def current() -> str:
    return _current.get()


def use(lang: str) -> None:
    """Pin the language for the rest of this context (tests, the CLI)."""
    _current.set(lang if lang in LANGUAGES else DEFAULT)


@functools.cache
def catalog(lang: str) -> Mapping[str, str]:
    """msgid → translation of ``lang`` (English is the msgids themselves)."""
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return {}
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=BABEL_LOCALES.get(lang, lang))
    return {
        str(m.id): str(m.string)
        for m in parsed
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def gettext(message: str, **values: Any) -> str:
    """``message`` in the current language; ``%(name)s`` placeholders filled."""
    text = catalog(current()).get(message, message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    text = gettext(singular if n == 1 else plural)
    return text % {"num": n, **values}


def label(value: Any, fallback: str = "") -> str:
    """An app-definition label in the current language: ``{"en": …, "zh": …}`` or a
    plain string; ``fallback`` (a name) when there is none."""
    if isinstance(value, Mapping):
        found = value.get(current()) or value.get(DEFAULT) or next(iter(value.values()), None)
        return str(found) if found else fallback
    return str(value) if value else fallback


def humanize(name: str) -> str:
    """``hire_date`` → ``Hire date``: the label of a field that declares none."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def negotiate(cookie: str | None, accept: str | None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def _cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            for item in value.decode("latin-1").split(";"):
                name, _, found = item.strip().partition("=")
                if name == COOKIE:
                    return found
    return None


class Language:
    """Resolves the request's language and pins it in the request's context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers") or []
            accept = next(
                (v.decode("latin-1") for k, v in headers if k == b"accept-language"), None
            )
            lang = negotiate(_cookie(headers), accept)
            _current.set(lang)
            scope.setdefault("state", {})["lang"] = lang
        await self.app(scope, receive, send)
