"""Example feeds shipped with the product: the demo's sample feed and one file per edge case.

They live in the package (not only in the docs) so `learncal demo` and the tests read the same
files a user can open; README.md here says what each one shows and what a sync should do.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE = "sample.json"
_HERE = Path(__file__).parent


def example_path(name: str) -> Path:
    """The path of a bundled example feed, e.g. `example_path(SAMPLE)`."""
    path = _HERE / name
    if path.suffix != ".json" or path.parent != _HERE or not path.is_file():
        raise FileNotFoundError(f"No bundled example feed is called {name!r}")
    return path


def example_names() -> list[str]:
    return sorted(p.name for p in _HERE.glob("*.json"))
