"""Small measuring tools: a timed `learncal` process with its peak memory, and the achieved send rate."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_rss_mb: float
    code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout.strip().splitlines()[-1]))


def run_cli(args: list[str], env: dict[str, str]) -> Timed:
    """`learncal ARGS` in its own process: wall time and peak resident memory (from the kernel)."""
    out_path = ROOT / ".learncal" / "bench-stdout.txt"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w+") as out, open(out_path.with_suffix(".err"), "w+") as err:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "shared.cli", *args], cwd=ROOT, env=env, stdout=out,
                                   stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Timed(seconds, usage.ru_maxrss / 1024.0, process.returncode, out.read(), err.read())


def import_seconds(module: str, repeats: int = 5) -> float:
    """Median time to import a module in a fresh interpreter (its own clock, not process start-up)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout) for _ in range(repeats)]
    return statistics.median(times)


def send_rate_ratio(received: list[str], per_minute: int) -> float:
    """Achieved send rate over the budget, from delivery times as the sandbox stamped them.

    With a budget of B per rolling minute, N messages need at least ceil(N/B) windows: the
    best any pacer can do is to deliver the last one (ceil(N/B) - 1) minutes after the first.
    The ratio is that best time over ours, both counting the last window in full:
    ceil(N/B) * 60 / (last - first + 60). A pacer that respects the rolling minute can never
    score above 1.0; one that keeps every window full scores close to it.
    """
    moments = sorted(datetime.fromisoformat(r.replace("Z", "+00:00")).timestamp() for r in received)
    if not moments:
        return 0.0
    windows = math.ceil(len(moments) / per_minute)
    return windows * 60.0 / (moments[-1] - moments[0] + 60.0)


def _instant(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def minutes_to_last_delivery(received: list[str], started: str) -> float:
    """Minutes from `started` to the last delivery, both as the sandbox's (time-scaled) clock stamped them.

    The sandbox's minutes are the simulated ones, so the figure is the same at any time scale.
    """
    if not received:
        raise ValueError("nothing was delivered")
    return (max(_instant(r) for r in received) - _instant(started)) / 60.0


# The figure line: the first five figures as they always were, then the throughput figures; `throttled`
# (all phases) last. A figure that could not be measured prints as "n/a".
FIGURES: tuple[tuple[str, str], ...] = (
    ("requests_per_message", "{:.2f}"),
    ("send_rate_ratio", "{:.2f}"),
    ("nochange_seconds", "{:.2f}"),
    ("peak_rss_mb", "{:.0f}"),
    ("baseline_speedup", "{:.2f}"),
    ("burst_minutes", "{:.1f}"),
    ("pool_speedup", "{:.2f}"),
    ("rollout_peak_rss_mb", "{:.0f}"),
    ("throttled", "{:d}"),
    ("requests_per_response", "{:.2f}"),
)


def figure_line(figures: dict[str, Any]) -> str:
    """`name=value` for every figure in FIGURES' order; a missing figure (None) reads n/a."""
    unknown = set(figures) - {name for name, _ in FIGURES}
    if unknown:
        raise ValueError(f"not a figure of the line: {', '.join(sorted(unknown))}")
    parts = []
    for name, form in FIGURES:
        value = figures.get(name)
        parts.append(f"{name}={'n/a' if value is None else form.format(value)}")
    return " ".join(parts)
