"""Which files `func azure functionapp publish` ships: the working tree minus `.funcignore`.

Core Tools matches `.funcignore` with its own GitIgnoreParser (Azure.Functions.Cli.Common,
a port of the npm gitignore-parser): blank lines and `#` lines are skipped, a leading `!`
makes a pattern re-include, a leading `/` is dropped, regex characters are escaped, `**`
becomes `(.+)` and `*` becomes `([^/]+)`, and all patterns form ONE regex anchored at the
start of the path only. So `tests` also denies `tests/x.py`, while `*.pyc` denies only
`x.pyc` at the root. A file is shipped unless the positive regex matches its path relative
to the project root (with `/`) and no negative one does. This is the same matching, in
Python, so a test can list the package without Core Tools.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SPECIAL = re.compile(r"[\-\[\]/{}()+?.\\^$|]")


def _pattern(line: str) -> str:
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), line).replace("**", "(.+)").replace("*", "([^\\/]+)")


def _compile(patterns: list[str]) -> re.Pattern[str]:
    if not patterns:
        return re.compile("$^")
    return re.compile("^((" + ")|(".join(_pattern(p) for p in sorted(patterns)) + "))")


class FuncIgnore:
    def __init__(self, text: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in text.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            target = negative if line.startswith("!") else positive
            line = line[1:] if line.startswith("!") else line
            target.append(line[1:] if line.startswith("/") else line)
        self._positive = _compile(positive)
        self._negative = _compile(negative)
        self.has_negations = bool(negative)

    def denies(self, path: str) -> bool:
        return not (self._negative.match(path) or not self._positive.match(path))


def deployed_files(root: Path = ROOT) -> list[str]:
    """Paths (relative, with `/`) that the deployment package would contain."""
    rules = FuncIgnore((root / ".funcignore").read_text(encoding="utf-8"))
    shipped: list[str] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        if not rules.has_negations:  # a denied folder denies all below it (the regex matches a prefix)
            dirs[:] = [d for d in dirs if not rules.denies(prefix + d)]
        shipped += [prefix + name for name in files if not rules.denies(prefix + name)]
    return sorted(shipped)
