"""The compiled view of the installed apps that requests and jobs work through.

A ``Reader`` (and the ``Records`` writer over it) compiles definitions, permission rules
and statements; building one costs milliseconds, so a process keeps it for as long as
the installed apps stay the same. Whether they did is one small query
(``AppService.fingerprint``): another worker's install shows up on the next request.
"""

from __future__ import annotations

import threading

from runtime.clock import Clock
from runtime.metadata.model import AppDef
from runtime.services.apps import AppService
from runtime.services.reading import Reader
from runtime.services.records import Records

Fingerprint = tuple[tuple[str, str, str], ...]


class Current:
    def __init__(self, apps: AppService, clock: Clock) -> None:
        self.apps = apps
        self.clock = clock
        self._built: tuple[Fingerprint, Reader, Records] | None = None
        self._lock = threading.Lock()

    def records(self) -> Records:
        """The writer (and, as ``.reader``, the reader) of the apps installed now."""
        key = self.apps.fingerprint()
        built = self._built
        if built is not None and built[0] == key:
            return built[2]
        with self._lock:
            if self._built is None or self._built[0] != key:
                definitions = self.apps.definitions()
                apps = {name: AppDef.from_dict(definitions[name]) for name, _, _ in key}
                reader = Reader(apps, self.clock)
                self._built = (key, reader, Records(reader))
            return self._built[2]

    def reader(self) -> Reader:
        return self.records().reader
