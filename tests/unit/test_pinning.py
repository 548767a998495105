"""Pinning offerings to the organizer pool, and the pool's settings, without servers.

The expectations are written out by hand (counts per mailbox, who keeps what), never by
calling the pinning code a second way.
"""

from __future__ import annotations

from collections import Counter

import pytest

from shared.errors import ConfigurationError
from shared.planning.pinning import pin_offerings
from shared.settings import Settings, ignored_organizer

POOL = ["a@contoso.example", "b@contoso.example", "c@contoso.example", "d@contoso.example"]


def test_forty_equal_offerings_split_evenly_over_four_mailboxes() -> None:
    needing = {f"O{i:02}": 90 for i in range(40)}
    result = pin_offerings(needing, {}, POOL, {})
    assert set(result.pins) == set(needing)
    assert Counter(result.pins.values()) == {m: 10 for m in POOL}
    assert result.repinned == []


def test_unequal_offerings_balance_by_invitations_not_by_count() -> None:
    # one big offering (300) and six small ones (50 each) over two mailboxes: 300 vs 6 x 50
    needing = {"big": 300, **{f"s{i}": 50 for i in range(6)}}
    result = pin_offerings(needing, {}, POOL[:2], {})
    load = Counter[str]()
    for offering_id, organizer in result.pins.items():
        load[organizer] += needing[offering_id]
    assert sorted(load.values()) == [300, 300]
    assert result.pins["big"] != result.pins["s0"]


def test_existing_load_counts_live_invitations() -> None:
    # a already carries 500 live invitations: three new offerings go to the other mailboxes first
    result = pin_offerings({"x": 100, "y": 100, "z": 100}, {}, POOL[:3], {"a@contoso.example": 500})
    assert Counter(result.pins.values()) == {"b@contoso.example": 2, "c@contoso.example": 1}


def test_a_pinned_offering_keeps_its_mailbox_even_when_it_is_busiest() -> None:
    pins = {"old": "a@contoso.example"}
    result = pin_offerings({"old": 400, "new": 10}, pins, POOL[:2], {"a@contoso.example": 1000})
    assert result.pins == {"old": "a@contoso.example", "new": "b@contoso.example"}
    assert result.repinned == []


def test_same_inputs_give_the_same_pins() -> None:
    needing = {f"O{i}": (i % 3) + 1 for i in range(12)}
    first = pin_offerings(needing, {}, POOL, {})
    second = pin_offerings(dict(reversed(list(needing.items()))), {}, POOL, {})
    assert first.pins == second.pins


def test_an_offering_needing_nothing_and_never_pinned_stays_unpinned() -> None:
    result = pin_offerings({"quiet": 0, "busy": 5}, {}, POOL[:2], {})
    assert result.pins == {"busy": "a@contoso.example"}


def test_leaving_the_pool_repins_with_a_record_and_keeps_the_others() -> None:
    pins = {"o1": "gone@contoso.example", "o2": "a@contoso.example", "o3": "gone@contoso.example"}
    result = pin_offerings({"o1": 4, "o2": 4, "o3": 0}, pins, POOL[:2], {"a@contoso.example": 20})
    assert result.pins["o2"] == "a@contoso.example"
    assert result.pins["o1"] == "b@contoso.example"  # the lighter mailbox
    assert result.pins["o3"] in POOL[:2]  # moved although it needs nothing now: reported once, when seen
    assert sorted(result.repinned) == [
        ("o1", "gone@contoso.example", "b@contoso.example"),
        ("o3", "gone@contoso.example", result.pins["o3"]),
    ]


def test_an_empty_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="pool is empty"):
        pin_offerings({"o": 1}, {}, [], {})


# -- settings ------------------------------------------------------------------------------


def test_organizers_setting_is_lower_cased_and_deduplicated() -> None:
    settings = Settings.from_env({"LEARNCAL_ORGANIZERS": " A@Contoso.example, b@contoso.example ,a@contoso.example,"})
    assert settings.organizers == ("a@contoso.example", "b@contoso.example")
    assert settings.organizer == "a@contoso.example"


def test_single_organizer_is_a_pool_of_one() -> None:
    settings = Settings.from_env({"LEARNCAL_ORGANIZER": "Coordinator@Contoso.example"})
    assert settings.organizers == ("coordinator@contoso.example",)
    assert settings.organizer == "coordinator@contoso.example"


def test_no_organizer_at_all_is_an_empty_pool() -> None:
    settings = Settings.from_env({})
    assert settings.organizers == () and settings.organizer is None


def test_a_bad_pool_entry_names_the_variable_the_entry_and_the_fix() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"LEARNCAL_ORGANIZERS": "a@contoso.example, not-an-address"})
    message = str(raised.value)
    assert "LEARNCAL_ORGANIZERS (entry 2)" in message and "'not-an-address'" in message
    assert "separating mailboxes with commas" in message


def test_a_bad_single_organizer_names_its_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"^LEARNCAL_ORGANIZER: 'coordinator' is not an e-mail address"):
        Settings.from_env({"LEARNCAL_ORGANIZER": "coordinator"})


def test_both_set_the_pool_wins_when_it_holds_the_single_organizer() -> None:
    settings = Settings.from_env({"LEARNCAL_ORGANIZERS": "a@contoso.example,b@contoso.example",
                                  "LEARNCAL_ORGANIZER": "B@contoso.example"})
    assert settings.organizers == ("a@contoso.example", "b@contoso.example")


def test_both_set_and_disagreeing_the_pool_wins_and_the_ignored_one_is_named() -> None:
    env = {"LEARNCAL_ORGANIZERS": "a@contoso.example,b@contoso.example", "LEARNCAL_ORGANIZER": "C@contoso.example"}
    settings = Settings.from_env(env)
    assert settings.organizers == ("a@contoso.example", "b@contoso.example")
    assert settings.organizer == "a@contoso.example"
    assert ignored_organizer(env) == "c@contoso.example"
    assert ignored_organizer({**env, "LEARNCAL_ORGANIZER": "b@contoso.example"}) is None


def test_a_pool_of_only_commas_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="LEARNCAL_ORGANIZERS names no mailbox"):
        Settings.from_env({"LEARNCAL_ORGANIZERS": " , ,"})
