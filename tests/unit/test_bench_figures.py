"""The benchmark's figure line and the burst timing it reports (bench/measure.py, bench/run.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.catalog import build_feed
from bench.measure import figure_line, minutes_to_last_delivery
from bench.run import BURST, POOL, figures, recipients

START = datetime.now(UTC).replace(microsecond=0)


def stamp(moment: datetime, fraction: bool = True) -> str:
    """As the sandbox stamps a delivery (seven fractional digits and a Z) or its stats (seconds, Z)."""
    if fraction:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_figure_line_keeps_the_old_figures_first_and_requests_per_response_after_throttled() -> None:
    values = {"requests_per_message": 1.0, "send_rate_ratio": 0.978, "nochange_seconds": 3.914, "peak_rss_mb": 203.4,
              "baseline_speedup": 3.561, "burst_minutes": 61.26, "pool_speedup": 3.81, "rollout_peak_rss_mb": 143.4,
              "throttled": 0, "requests_per_response": 1.034}
    line = figure_line(dict(reversed(list(values.items()))))  # the order of the input does not matter
    names = [part.split("=")[0] for part in line.split(" ")]
    assert names == ["requests_per_message", "send_rate_ratio", "nochange_seconds", "peak_rss_mb",
                     "baseline_speedup", "burst_minutes", "pool_speedup", "rollout_peak_rss_mb", "throttled",
                     "requests_per_response"]
    parsed = dict(part.split("=") for part in line.split(" "))
    assert parsed["send_rate_ratio"] == "0.98" and parsed["peak_rss_mb"] == "203"
    assert parsed["burst_minutes"] == "61.3" and parsed["pool_speedup"] == "3.81"
    assert parsed["rollout_peak_rss_mb"] == "143" and parsed["throttled"] == "0"
    assert parsed["requests_per_response"] == "1.03"


def test_a_figure_not_measured_reads_n_a_and_an_unknown_one_is_refused() -> None:
    line = figure_line({"throttled": 2, "pool_speedup": None})
    parsed = dict(part.split("=") for part in line.split(" "))
    assert parsed["pool_speedup"] == "n/a" and parsed["burst_minutes"] == "n/a" and parsed["throttled"] == "2"
    with pytest.raises(ValueError, match="burst_minute"):
        figure_line({"burst_minute": 60.0})


def test_figures_are_read_from_the_phases_results() -> None:
    results = {"send_rate": {"requests_per_message": 1.02, "send_rate_ratio": 0.95}, "pipeline": {
        "baseline_speedup": 2.5}, "nochange_seconds": 4.0, "peak_rss_mb": 210.0, "burst_minutes": 62.0,
        "pool_speedup": 3.7, "rollout_peak_rss_mb": 150.0, "throttled": 1,
        "responses": {"requests_per_response": 1.05}}
    parsed = dict(part.split("=") for part in figure_line(figures(results)).split(" "))
    assert parsed == {"requests_per_message": "1.02", "send_rate_ratio": "0.95", "nochange_seconds": "4.00",
                      "peak_rss_mb": "210", "baseline_speedup": "2.50", "burst_minutes": "62.0",
                      "pool_speedup": "3.70", "rollout_peak_rss_mb": "150", "throttled": "1",
                      "requests_per_response": "1.05"}


def test_burst_minutes_run_from_the_start_to_the_last_delivery_in_the_sandboxs_minutes() -> None:
    deliveries = [START + timedelta(minutes=m, seconds=s) for m, s in ((0, 2), (59, 30), (12, 0), (61, 15))]
    received = [stamp(d) for d in deliveries]
    assert minutes_to_last_delivery(received, stamp(START, fraction=False)) == pytest.approx(61.25)
    assert minutes_to_last_delivery(received[:3], stamp(START + timedelta(minutes=1), fraction=False)) \
        == pytest.approx(58.5)
    with pytest.raises(ValueError):
        minutes_to_last_delivery([], stamp(START, fraction=False))


def test_the_burst_and_pool_feeds_hold_the_invitations_the_issue_names() -> None:
    for shape, invitations, offerings in ((BURST, 1_800, None), (POOL, 3_600, 40)):
        feed = build_feed(shape)
        wanted = sum(len(o["activities"]) * (len(o["enrollments"]) + 1) for o in feed["offerings"])
        assert wanted == invitations == shape.invitations
        sizes = {len(o["activities"]) * len(o["enrollments"]) for o in feed["offerings"]}
        assert len(sizes) == 1  # offerings of equal size, so a pool can balance them
        if offerings is not None:
            assert len(feed["offerings"]) >= offerings
        people = recipients(feed)
        assert all(e["learnerEmail"] in people for o in feed["offerings"] for e in o["enrollments"])
