"""Stop on SIGTERM as on Ctrl+C, so the local servers a command started are stopped with it.

`learncal serve` and `learncal demo` start Azurite (a Node.js process) and the sandbox. Python
ends on SIGTERM (`kill`, a service manager, `docker stop`, a test's `terminate()`) without
unwinding, which would leave Azurite running with nobody to stop it. Turning SIGTERM into
KeyboardInterrupt lets every `with` block stop what it started, as Ctrl+C does.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt in the main thread (elsewhere: no change,
    as only the main thread may set a signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
