"""The jam's device side (max_for_live/jasco_jam.js) under Node against the mock Live with Live's documented
launch quantisation (tests/device/js/mock_live_jam.js; tests/device/js/jam_unit.js): takes go into free slots of
the jam track, loop, and start on their phrase boundary because Live launches them there."""

from __future__ import annotations

from pathlib import Path

import pytest

from .node_checks import node_checks

UNIT = Path(__file__).resolve().parent / "js" / "jam_unit.js"
NAMES = [
    "takes_start_on_their_phrase_boundaries",
    "the_sets_global_quantisation_is_left_alone",
    "a_late_take_waits_for_the_next_boundary",
    "a_phrase_live_cannot_quantise_to_is_fired_in_its_last_bar",
    "a_full_track_gets_a_new_scene_and_full_slots_are_never_touched",
    "live_before_12_0_5_is_told_not_crashed",
    "a_jam_take_packet_through_the_device_is_placed_and_fired_on_its_boundary",
]


@pytest.fixture(scope="module")
def jam_results(node_exe: str) -> dict[str, str]:
    return node_checks(node_exe, UNIT)


def test_every_node_check_is_listed(jam_results: dict[str, str]) -> None:
    assert sorted(jam_results) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_jam_device(jam_results: dict[str, str], name: str) -> None:
    assert jam_results[name] == "ok", jam_results[name]
