"""The compiled view of the installed apps that requests and jobs work through.

A ``Reader`` (and the ``Records`` writer over it) compiles definitions, permission rules
and statements; building one costs milliseconds, so a process keeps it for as long as
the installed apps stay the same. Whether they did is one small query
(``AppService.fingerprint``): another worker's install shows up on the next request.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from runtime.clock import Clock
from runtime.metadata.model import AppDef
from runtime.services.apps import AppService
from runtime.services.automations import Automations
from runtime.services.reading import Reader
from runtime.services.records import Records
from runtime.services.scheduled import Scheduled
from runtime.services.timers import Timers
from runtime.services.transitions import Transitions
from runtime.storage.jobs import JobStore

Fingerprint = tuple[tuple[str, str, str], ...]


class View(NamedTuple):
    """The reader, writer and workflow actions of one set of installed apps."""

    fingerprint: Fingerprint
    reader: Reader
    records: Records
    transitions: Transitions
    timers: Timers
    scheduled: Scheduled
    automations: Automations


class Current:
    def __init__(self, apps: AppService, clock: Clock, jobs: JobStore | None = None) -> None:
        self.apps = apps
        self.clock = clock
        self.jobs = jobs or JobStore(apps.engine)
        self._built: View | None = None
        self._lock = threading.Lock()

    def view(self) -> View:
        """What requests work through, for the apps installed now (one small query)."""
        key = self.apps.fingerprint()
        built = self._built
        if built is not None and built[0] == key:
            return built
        with self._lock:
            if self._built is None or self._built[0] != key:
                definitions = self.apps.definitions()
                apps = {name: AppDef.from_dict(definitions[name]) for name, _, _ in key}
                reader = Reader(apps, self.clock)
                records = Records(reader)
                transitions = Transitions(records, self.jobs)
                timers = Timers(records, transitions, self.jobs)
                scheduled = Scheduled(records, self.jobs)
                automations = Automations(records, transitions.effects, self.jobs)
                self._built = View(
                    key, reader, records, transitions, timers, scheduled, automations
                )
            return self._built

    def records(self) -> Records:
        """The writer (and, as ``.reader``, the reader) of the apps installed now."""
        return self.view().records

    def reader(self) -> Reader:
        return self.records().reader
