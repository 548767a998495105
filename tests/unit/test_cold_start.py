"""Importing function_app is the cold-start cost of every new Functions instance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys, time
t = time.perf_counter()
import function_app
elapsed = time.perf_counter() - t
heavy = sorted(m for m in ("msgraph", "azure.identity", "azure.data.tables", "pydantic", "rich") if m in sys.modules)
print(json.dumps({"seconds": elapsed, "heavy": heavy, "functions": len(function_app.app.get_functions())}))
"""


def test_function_app_imports_fast_and_defers_heavy_clients() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], "these load on first use, not at import"
    assert result["functions"] >= 2
    assert result["seconds"] < 1.5
