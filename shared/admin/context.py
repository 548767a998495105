"""The services behind the admin handlers, built once per process from the environment.

A warm function instance serves many requests; building the stores and services once keeps
each request cheap. The run worker performs runs with these services too: an HTTP request
only asks for a run (202), so no run has to fit the platform's 230 s response limit. Tests
(and the local adapter) swap in services built on their own tables and settings with `using(...)`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from shared.bootstrap import App
from shared.provider.service import ProviderService
from shared.settings import Settings
from shared.store.tables import Tables
from shared.validate.runner import Validator


@dataclass
class Services:
    settings: Settings
    tables: Tables
    app: App  # sync, offerings, runs
    provider: ProviderService
    validator: Validator

    @classmethod
    def build(cls, settings: Settings | None = None, *, tables: Tables | None = None, **options: Any) -> Services:
        """`options` go to shared.bootstrap.build (e.g. gateway_factory)."""
        from shared.bootstrap import build

        settings = settings or Settings.from_env()
        app = build(settings, tables=tables, **options)
        return cls(app.settings, app.tables, app, ProviderService(app.settings, app.tables), Validator(app.tables))


_lock = threading.Lock()
_current: Services | None = None
_factory: Callable[[], Services] = Services.build


def services() -> Services:
    global _current
    with _lock:
        if _current is None:
            _current = _factory()
        return _current


@contextmanager
def using(replacement: Services) -> Iterator[Services]:
    """Serve requests with `replacement` for the duration of the block."""
    global _current
    with _lock:
        previous, _current = _current, replacement
    try:
        yield replacement
    finally:
        with _lock:
            _current = previous
