"""Pure functions of max_for_live/jasco_core.js, checked under Node (tests/device/js/unit.js)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .node_checks import node_checks

UNIT = Path(__file__).resolve().parent / "js" / "unit.js"
NAMES = [
    "osc_size_matches_the_encoder",
    "chunks_respect_both_limits",
    "oversized_message_is_refused",
    "non_audio_target_falls_back",
    "deleted_target_track_falls_back",
    "live_refusing_the_file_is_reported",
    "live_that_prints_instead_of_creating_is_reported",
    "arrangement_never_overwrites_a_clip",
    "session_takes_go_to_consecutive_free_slots",
    "replace_last_take_reuses_its_slot_only_if_still_ours",
    "replace_last_take_in_the_arrangement",
    "takes_get_fresh_seeds_unless_locked",
    "a_chord_struck_early_is_read",
    "saved_state_round_trips_and_a_bad_one_is_refused",
    "live_parameters_are_clamped_by_type",
    "replies_keep_their_order_only_through_deferlow",
    "version_compare",
    "notes_as_object_or_json_string",
    "live_10_has_no_notes_api",
    "error_without_its_empty_job_is_still_an_error",
    "every_generate_starts_from_a_clean_session",
    "clip_names",
    "replies_for_unknown_jobs_do_not_crash",
    "three_bar_and_ten_second_clips_get_explicit_timing",
    "live_keeping_a_clip_unwarped_is_said_and_its_loop_is_in_seconds",
    "two_devices_on_one_reply_port_place_only_their_own",
    "a_clip_is_recognised_by_its_file_whatever_the_spelling",
    "one_undo_step_per_take",
    "drums_from_an_arrangement_clip_send_the_region_that_plays",
    "chords_from_the_arrangement_clip_playing_on_the_track",
    "the_track_list_costs_two_live_objects_however_long",
]


@pytest.fixture(scope="module")
def unit_results(node_exe: str) -> dict[str, str]:
    return node_checks(node_exe, UNIT)


def test_every_node_check_is_listed(unit_results: dict[str, str]) -> None:
    assert sorted(unit_results) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_core(unit_results: dict[str, str], name: str) -> None:
    assert unit_results[name] == "ok", unit_results[name]
