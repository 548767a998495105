"""The sandbox is a development tool: the Azure package and its runtime requirements carry none of it.

- the files `func publish` / `azd deploy` ship (the tree minus `.funcignore`, matched as Core
  Tools matches it) hold no file of shared/sandbox/ or shared/local/, and do hold the app;
- requirements.txt names no package that only the sandbox (or the local demo helpers) import,
  and requirements-dev.txt names every one of them, so a fresh clone still runs them;
- every shipped module imports, and function_app registers its functions, in a Python that
  cannot import shared.sandbox, shared.local or trustme;
- `learncal sandbox` without trustme says to install the development requirements.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from tests.support.deployment import ROOT, FuncIgnore, deployed_files

DEVELOPMENT_ONLY = ("shared/sandbox/", "shared/local/")


def _requirement_names(path: Path) -> set[str]:
    names: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(_normal(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]))
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(paths: list[Path]) -> set[str]:
    """Top-level module names imported anywhere in these files (also inside functions)."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _distributions(modules: set[str]) -> set[str]:
    installed = metadata.packages_distributions()
    return {_normal(dist) for module in modules for dist in installed.get(module, [])}


def _closure(distributions: set[str]) -> set[str]:
    """The distributions and everything they require when installed (extras left out)."""
    seen: set[str] = set()
    todo = list(distributions)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_normal(re.split(r"[<>=!~\[; (]", r, maxsplit=1)[0]) for r in requires if "extra ==" not in r]
    return seen


@cache
def _shipped() -> tuple[str, ...]:
    return tuple(deployed_files())


def test_core_tools_matching_as_documented() -> None:
    rules = FuncIgnore("# comment\ntests\n*.pyc\n/build\nshared/sandbox\n!tests/keep.py\n")
    assert rules.denies("tests/unit/test_x.py") and rules.denies("x.pyc") and rules.denies("build/a")
    assert not rules.denies("shared/x.pyc")  # `*` never crosses a `/`, and patterns anchor at the root
    assert rules.denies("shared/sandbox/server.py") and not rules.denies("shared/settings.py")
    assert not rules.denies("tests/keep.py") and not rules.denies("function_app.py")


def test_the_package_holds_the_app_and_nothing_of_the_sandbox() -> None:
    shipped = _shipped()
    assert [p for p in shipped if p.startswith(DEVELOPMENT_ONLY)] == []
    assert {"function_app.py", "host.json", "requirements.txt", "shared/bootstrap.py"} <= set(shipped)
    assert not any(p.startswith(("tests/", ".venv", "node_modules/")) for p in shipped)


def test_runtime_requirements_hold_no_sandbox_only_package() -> None:
    shipped_code = [ROOT / p for p in _shipped() if p.endswith(".py")]
    development_code = [p for folder in DEVELOPMENT_ONLY for p in (ROOT / folder).rglob("*.py")]
    runtime = _closure(_distributions(_imports(shipped_code)))
    sandbox_only = _distributions(_imports(development_code)) - runtime
    assert "trustme" in sandbox_only  # the sandbox's certificate authority: the reason this test exists
    assert "werkzeug" in runtime  # azure-functions requires it, so it stays
    assert _requirement_names(ROOT / "requirements.txt") & sandbox_only == set()
    assert sandbox_only <= _requirement_names(ROOT / "requirements-dev.txt")


BLOCKER = """
import importlib, importlib.abc, json, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocked())
"""
NO_SANDBOX = 'BLOCKED = ("trustme", "shared.sandbox", "shared.local")' + BLOCKER

IMPORT_ALL = NO_SANDBOX + """
modules = json.loads(sys.argv[1])
for module in modules:
    importlib.import_module(module)
import function_app
print(json.dumps(sorted(f.get_function_name() for f in function_app.app.get_functions())))
"""


def test_shipped_modules_import_without_the_sandbox() -> None:
    modules = sorted(p[:-3].replace("/", ".").removesuffix(".__init__") for p in _shipped()
                     if p.endswith(".py") and p != "function_app.py")
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL, json.dumps(modules)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    decorated = _decorated_functions(ROOT / "function_app.py")
    assert json.loads(done.stdout) == sorted(decorated)
    assert len(decorated) >= 3


def _decorated_functions(path: Path) -> list[str]:
    """Functions in function_app.py with an `@app.…` decorator (read from the source, not from the app)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and isinstance(d.func.value, ast.Name)
        and d.func.value.id == "app" for d in node.decorator_list)]


def test_learncal_sandbox_without_trustme_names_the_fix(tmp_path: Path) -> None:
    code = 'BLOCKED = ("trustme",)' + BLOCKER + (
        "from shared.cli import main\nsys.argv = ['learncal', 'sandbox', '--data', sys.argv[1]]\nmain()\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "sbx")], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "requirements-dev.txt" in done.stderr and "trustme" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "sbx").exists()
