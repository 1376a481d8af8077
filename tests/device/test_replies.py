"""What the device does with the bridge's replies: clips in Live, progress, errors.

A fake bridge (python-osc over real UDP) answers /jasco/generate; the device runs
under Node against the mock Live set and the test inspects the set afterwards.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from .livesets import PROMPT, SETTINGS, TWO_BARS_S, live_set
from .oscpeer import FakeBridge, build

CLIP = "/Users/me/Music/jasco-bridge/20261121-104500_warm-lofi-piano_s1234.wav"
NAME = f"{PROMPT} · take 1 · seed 1234"
DONE = "Done (4.97 s at 96.5 bpm)"


def finishes(path: str = CLIP) -> Callable[[str, dict[str, Any]], list[bytes]]:
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [
            build("/jasco/queued", ("s", job), ("i", 0)),
            build("/jasco/started", ("s", job)),
            build("/jasco/progress", ("s", job), ("f", 0.5)),
            build("/jasco/done", ("s", job), ("s", path), ("f", TWO_BARS_S), ("f", 96.5)),
        ]
    return script


def run_with_bridge(run_device, bridge: FakeBridge, live: dict[str, Any], settings: list[Any],
                    mode: str = "core", wait_terminal: int = 1, **extra: Any) -> dict[str, Any]:
    scenario = {"mode": mode, "live": live, "bridge_port": bridge.port, "settings": settings,
                "commands": [["init"], ["generate"]], "wait_terminal": wait_terminal, "timeout_ms": 8000}
    scenario.update(extra)
    out = run_device(scenario)
    assert out["errors"] == [], out["errors"]
    assert bridge.listener.errors == []
    assert out["live"]["console"] == [], "Live printed errors: the device misused the Live API"
    return out


def clip_fields(clip: dict[str, Any]) -> dict[str, Any]:
    return {k: clip[k] for k in ("name", "file_path", "start_time", "looping", "warping", "loop_start", "loop_end")}


@pytest.mark.parametrize("mode", ["core", "glue"])
def test_done_creates_the_clip_in_the_next_empty_slot(run_device, fake_bridge_factory, mode: str) -> None:
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS, mode=mode)
    jasco = out["live"]["tracks"][2]
    assert jasco["slots"][0]["name"] == "old take"           # untouched
    # looping over the two bars asked for, warped to follow the song tempo, named with prompt, take and seed
    assert clip_fields(jasco["slots"][1]) == {"name": NAME, "file_path": CLIP, "start_time": 0, "looping": 1,
                                              "warping": 1, "loop_start": 0, "loop_end": 8.0}
    assert jasco["slots"][2] is None
    creates = [e for e in out["live"]["log"] if e.get("fn") == "create_audio_clip"]
    assert creates == [{"op": "call", "type": "ClipSlot", "id": creates[0]["id"], "fn": "create_audio_clip",
                        "args": [CLIP], "track": "JASCO", "slot": 1}]
    assert out["status"][-1] == f"{DONE}: '{PROMPT}' seed 1234 in 'JASCO' slot 2"
    progress = [a[2] for a in out["ui"] if a[:2] == ["progress", "set"]]
    assert 50 in progress and progress[-1] == 100
    assert ["path", "set", CLIP] in out["ui"]
    # what the bridge heard: the session state the generate used
    assert bridge.state["prompt"] == PROMPT and bridge.state["steps"] == 8


def test_full_track_gets_a_new_scene(run_device, fake_bridge_factory) -> None:
    live = live_set()
    for s in range(3):
        live["tracks"][2]["slots"][s] = {"name": f"take {s}", "midi": False, "file_path": f"/tmp/{s}.wav"}
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live, SETTINGS)
    jasco = out["live"]["tracks"][2]
    assert len(jasco["slots"]) == 4
    assert jasco["slots"][3]["file_path"] == CLIP and jasco["slots"][3]["name"] == NAME
    assert [c["name"] for c in jasco["slots"][:3]] == ["take 0", "take 1", "take 2"]
    assert any(e.get("fn") == "create_scene" for e in out["live"]["log"])


def test_arrangement_target_goes_to_the_bar_line_of_the_insert_marker(run_device, fake_bridge_factory) -> None:
    """Stopped with the insert marker at beat 33.37 (bar 9, beat 2.37): the clip starts on bar 9."""
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live_set(start_time=33.37), SETTINGS + [["target", 1]])
    jasco = out["live"]["tracks"][2]
    assert [clip_fields(c) for c in jasco["arrangement"]] == [
        {"name": NAME, "file_path": CLIP, "start_time": 32, "looping": 1, "warping": 1, "loop_start": 0,
         "loop_end": 8.0}]
    assert jasco["slots"][1] is None
    creates = [e for e in out["live"]["log"] if e.get("fn") == "create_audio_clip"]
    assert [(c["type"], c["args"]) for c in creates] == [("Track", [CLIP, 32])]
    assert out["status"][-1].endswith("in 'JASCO' arrangement bar 9")


def test_arrangement_while_playing_starts_at_the_next_bar(run_device, fake_bridge_factory) -> None:
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live_set(current_song_time=13.37, is_playing=1), SETTINGS + [["target", 1]])
    assert [c["start_time"] for c in out["live"]["tracks"][2]["arrangement"]] == [16]


@pytest.mark.parametrize(("version", "target"), [((11, 3, 25), 0), ((11, 3, 25), 1), ((12, 0, 4), 0)])
def test_old_live_falls_back_to_showing_the_path(run_device, fake_bridge_factory, version: tuple[int, int, int],
                                                 target: int) -> None:
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live_set(version=version), SETTINGS + [["target", target]])
    assert not any(e.get("fn") == "create_audio_clip" for e in out["live"]["log"])
    assert out["live"]["tracks"][2]["slots"][1] is None
    v = ".".join(map(str, version))
    assert out["status"][-1] == (f"{DONE}: '{PROMPT}' seed 1234; Live {v} cannot create audio clips from Max "
                                 f"(needs 12.0.5+): drag in {CLIP}")
    assert ["path", "set", CLIP] in out["ui"]


def test_frozen_target_falls_back_to_showing_the_path(run_device, fake_bridge_factory) -> None:
    live = live_set()
    live["tracks"][2]["frozen"] = True
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live, SETTINGS)
    assert "track 'JASCO' is frozen" in out["status"][-1] and CLIP in out["status"][-1]
    assert out["live"]["tracks"][2]["slots"][1] is None


def test_set_without_audio_tracks_falls_back(run_device, fake_bridge_factory) -> None:
    live = live_set()
    live["tracks"] = [live["tracks"][0], live["tracks"][4]]      # MIDI only
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live, SETTINGS[:-2] + [["drums_track", 0]])
    assert "no target audio track" in out["status"][-1] and CLIP in out["status"][-1]
    assert ["target_tracks", "clear"] in out["ui"]
    assert not [a for a in out["ui"] if a[:2] == ["target_tracks", "append"]]


def test_folder_target_only_shows_the_path(run_device, fake_bridge_factory) -> None:
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS + [["target", 2]])
    assert out["status"][-1] == f"{DONE}: '{PROMPT}' seed 1234 saved {CLIP}"
    assert not any(e.get("fn") == "create_audio_clip" for e in out["live"]["log"])


def test_track_menus_list_audio_tracks(run_device, fake_bridge_factory) -> None:
    bridge = fake_bridge_factory(finishes())
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS, mode="glue", commands=[["init"]],
                          wait_terminal=0, linger_ms=300)
    targets = [a[2] for a in out["ui"] if a[:2] == ["target_tracks", "append"]]
    drums = [a[2] for a in out["ui"] if a[:2] == ["drums_tracks", "append"]]
    assert targets[-2:] == ["Drums", "JASCO"] and drums[-3:] == ["none", "Drums", "JASCO"]
    # init set the [udpsend]/[udpreceive] ports and greeted the bridge; the ports (above 255) came
    # through Live's parameter storage unclamped: they are Float parameters with unit style Int
    assert bridge.port > 255 and out["reply_port"] > 255
    assert ["udpsend", "port", bridge.port] in out["ui"]
    assert ["udpreceive", "port", out["reply_port"]] in out["ui"]
    assert f"Connected to jasco-bridge 0.1.0 (model tiny), replies on port {out['reply_port']}" in out["status"]


@pytest.mark.parametrize("mode", ["core", "glue"])
def test_error_reply_is_shown(run_device, fake_bridge_factory, mode: str) -> None:
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [build("/jasco/queued", ("s", job), ("i", 1)),
                build("/jasco/error", ("s", job), ("s", "render_failed"), ("s", "engine crashed: out of memory"))]
    bridge = fake_bridge_factory(script)
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS, mode=mode)
    assert "Queued (1 ahead)\u2026" in out["status"]
    assert out["status"][-1] == "Error [render_failed]: engine crashed: out of memory"
    assert out["live"]["tracks"][2]["slots"][1] is None


def test_error_without_job_is_shown(run_device, fake_bridge_factory) -> None:
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [build("/jasco/error", ("s", ""), ("s", "queue_full"), ("s", "4 jobs are waiting; try later"))]
    bridge = fake_bridge_factory(script)
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS, global_errors_terminal=True)
    assert out["status"][-1] == "Error [queue_full]: 4 jobs are waiting; try later"


def test_malformed_reply_is_shown_not_fatal(run_device, fake_bridge_factory) -> None:
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [build("/jasco/queued", ("s", job), ("i", 0)),
                build("/jasco/done", ("s", job), ("s", CLIP)),
                build("/jasco/progress", ("s", job), ("s", "half")),
                build("/jasco/whatever", ("i", 1)),
                build("/jasco/cancelled", ("s", job))]
    bridge = fake_bridge_factory(script)
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS, mode="glue", wait_terminal=2)
    assert "Bridge: /jasco/done needs 4 arguments, got 2" in out["status"]
    assert "Bridge: /jasco/progress argument 2 is not a number: half" in out["status"]
    assert "Bridge: unknown reply /jasco/whatever" in out["status"]
    assert out["status"][-1] == "Cancelled"


def test_cancel_while_rendering(run_device, fake_bridge_factory) -> None:
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [build("/jasco/queued", ("s", job), ("i", 0)), build("/jasco/started", ("s", job))]
    bridge = fake_bridge_factory(script)
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS, on_reply={"/jasco/started": [["cancel"]]})
    cancels = [p for p in bridge.listener.packets if p.address == "/jasco/cancel"]
    assert [(p.tags, p.values) for p in cancels] == [("s", ("job-1",))]
    assert out["status"][-1] == "Cancelled"


def test_cancel_before_the_job_is_named(run_device, fake_bridge_factory) -> None:
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [build("/jasco/queued", ("s", job), ("i", 3))]
    bridge = fake_bridge_factory(script)
    # Cancel is pressed when the bridge's hello arrives: before /jasco/queued names the job
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS,
                          commands=[["generate"], ["cancel"]])
    cancels = [p for p in bridge.listener.packets if p.address == "/jasco/cancel"]
    assert [p.values for p in cancels] == [("job-1",)]
    assert out["status"][-1] == "Cancelled"


def test_no_bridge_says_so(run_device, listener) -> None:
    """Nothing answers: after the timeout the status line says what to check."""
    out = run_device({"mode": "core", "live": live_set(), "bridge_port": listener.port, "fake_clock": True,
                      "settings": SETTINGS, "commands": [["generate"], ["advance_clock", 1000],
                                                         ["advance_clock", 4000]]})
    assert out["results"] == ["sent", False, True]
    assert out["status"][-1].startswith(f"No answer from jasco-bridge on 127.0.0.1:{listener.port}")
    deadline = time.monotonic() + 2
    while "/jasco/generate" not in [p.address for p in listener.packets] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert listener.packets[-1].address == "/jasco/generate"     # it did go out


@pytest.mark.parametrize("code", ["bad_value", "vocab_unavailable"])
def test_refused_generate_keeps_the_error_on_the_status_line(run_device, fake_bridge_factory, code: str) -> None:
    """A generate the bridge refuses (error with job "") is not reported as 'no answer' later."""
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [build("/jasco/error", ("s", ""), ("s", code), ("s", "no chord vocabulary yet"))]
    bridge = fake_bridge_factory(script)
    out = run_with_bridge(run_device, bridge, live_set(), SETTINGS, fake_clock=True, global_errors_terminal=True,
                          on_reply={"/jasco/error": [["advance_clock", 5000]]})
    assert out["status"][-1] == f"Error [{code}]: no chord vocabulary yet"
    # bad_value may be about another message: the pending request is dropped at the timeout, quietly
    assert out["results"][-1] is (code == "bad_value")


def test_words_of_a_list_prompt_are_joined(run_device, listener) -> None:
    """[textedit] in list mode sends words as separate atoms: they are joined with spaces."""
    settings = SETTINGS + [["prompt", "text", "lofi", 90, "bpm", 1.5]]
    out = run_device({"mode": "glue", "live": live_set(), "bridge_port": listener.port,
                      "settings": settings, "commands": [["generate"]]})
    deadline = time.monotonic() + 3
    while "/jasco/generate" not in [p.address for p in listener.packets] and time.monotonic() < deadline:
        time.sleep(0.01)
    prompts = [p.values for p in listener.packets if p.address == "/jasco/prompt"]
    assert prompts == [("lofi 90 bpm 1.5",)], out["status"]


def test_error_about_a_message_is_kept_until_the_clip_is_done(run_device, fake_bridge_factory) -> None:
    """The bridge refuses the drums file but renders anyway: the final status still says so."""
    def script(job: str, state: dict[str, Any]) -> list[bytes]:
        return [build("/jasco/queued", ("s", job), ("i", 0))] + finishes()(job, state)[1:]
    bridge = fake_bridge_factory(script)
    bridge.answers["/jasco/drums"] = [build("/jasco/error", ("s", ""), ("s", "not_found"),
                                            ("s", "drum file '/gone/drums.wav' does not exist"))]
    live = live_set()
    live["tracks"][1]["slots"][0]["file_path"] = "/gone/drums.wav"
    out = run_with_bridge(run_device, bridge, live, SETTINGS)
    assert "Error [not_found]: drum file '/gone/drums.wav' does not exist" in out["status"]
    assert out["status"][-1] == (f"{DONE}: '{PROMPT}' seed 1234 in 'JASCO' slot 2 "
                                 "(but: [not_found] drum file '/gone/drums.wav' does not exist)")


def test_a_live_api_surprise_is_shown_not_fatal(run_device, fake_bridge_factory) -> None:
    """Live prints (does not throw) when it is asked for something it lacks (here a track without
    a name): the device goes on, renders, and places the clip."""
    live = live_set()
    del live["tracks"][3]["name"]
    bridge = fake_bridge_factory(finishes())
    scenario = {"mode": "glue", "live": live, "bridge_port": bridge.port, "wait_terminal": 1, "timeout_ms": 8000,
                "settings": SETTINGS[1:] + [["chords", 2], ["drums_track", 0]], "commands": [["generate"]]}
    out = run_device(scenario)
    assert out["errors"] == []
    assert "get: Track has no property 'name'" in out["live"]["console"]
    assert out["status"][-1] == f"Done (4.97 s at 96.5 bpm): '{PROMPT}' seed 1234 in 'JASCO' slot 2"
