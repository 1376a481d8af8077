"""Takes, placement that never destroys, what is saved with the set, and the reply port, through
the generated patcher (glue mode) with a fake bridge over real UDP."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest

from .livesets import PROMPT, SETTINGS, TWO_BARS_S, live_set
from .oscpeer import FakeBridge, build


def renders(job: str, state: dict[str, Any]) -> list[bytes]:
    """Every generate finishes: a file named after the job and the seed set for it."""
    path = f"/clips/{job}_s{state['seed']}.wav"
    return [build("/jasco/queued", ("s", job), ("i", 0)),
            build("/jasco/started", ("s", job)),
            build("/jasco/done", ("s", job), ("s", path), ("f", TWO_BARS_S), ("f", 96.5), ("i", state["seed"]))]


def run(run_device, bridge: FakeBridge, live: dict[str, Any], settings: list[Any], commands: list[Any],
        wait: int, **extra: Any) -> dict[str, Any]:
    scenario = {"mode": "glue", "live": live, "bridge_port": bridge.port, "settings": settings,
                "commands": commands, "wait_terminal": wait, "timeout_ms": 8000}
    scenario.update(extra)
    out = run_device(scenario)
    assert out["errors"] == [], out["errors"]
    assert bridge.listener.errors == []
    assert out["live"]["console"] == [], "Live printed errors: the device misused the Live API"
    return out


UNLOCKED = [s for s in SETTINGS if s[0] not in ("lock_seed", "seed")] + [["chords", 2], ["drums_track", 0]]


def test_two_takes_land_in_two_free_session_slots(run_device, fake_bridge_factory) -> None:
    live = live_set()
    for t in live["tracks"]:
        t["slots"].append(None)                      # four scenes
    live["tracks"][2]["slots"][2] = {"name": "mine", "midi": False, "file_path": "/tmp/mine.wav"}
    bridge = fake_bridge_factory(renders)
    out = run(run_device, bridge, live, UNLOCKED + [["takes", 2]], [["generate"]], wait=2)
    slots = out["live"]["tracks"][2]["slots"]
    assert (slots[0]["name"], slots[0]["file_path"]) == ("old take", "/tmp/old.wav")       # untouched
    assert (slots[2]["name"], slots[2]["file_path"]) == ("mine", "/tmp/mine.wav")          # untouched
    assert len(slots) == 4
    files = [slots[1]["file_path"], slots[3]["file_path"]]
    seeds = [int(f.rsplit("_s", 1)[1][:-4]) for f in files]
    assert files == [f"/clips/job-1_s{seeds[0]}.wav", f"/clips/job-2_s{seeds[1]}.wav"]
    assert seeds[1] == seeds[0] + 1
    assert [slots[1]["name"], slots[3]["name"]] == [f"{PROMPT} · take 1 · seed {seeds[0]}",
                                                    f"{PROMPT} · take 2 · seed {seeds[1]}"]
    # the bridge heard two generates, each with its own seed
    tags = [p.values[0] for p in bridge.listener.packets if p.address == "/jasco/generate"]
    assert [t.split(".")[0] for t in tags] == ["m4l-1", "m4l-2"] and len({t.split(".")[1] for t in tags}) == 1
    # the seed box shows the press's first seed; the takes menu lists both, newest first
    assert ["seed", "set", seeds[0]] in out["ui"]
    listed = [a[2] for a in out["ui"] if a[:2] == ["take_list", "append"]][-2:]
    assert listed == [f"#2 seed {seeds[1]} → 'JASCO' slot 4", f"#1 seed {seeds[0]} → 'JASCO' slot 2"]
    assert out["status"][-1].endswith(f"take 2/2 seed {seeds[1]} in 'JASCO' slot 4")


def test_two_takes_land_in_free_arrangement_places(run_device, fake_bridge_factory) -> None:
    """Insert marker at beat 13.37 (bar 4): bar 4 holds the user's clip, so take 1 goes to the next
    free bar after it, take 2 right after take 1; the user's clips are not touched."""
    live = live_set(start_time=13.37)
    mine = [{"name": "verse", "midi": False, "file_path": "/tmp/verse.wav", "start_time": 12.0, "end_time": 20.0},
            {"name": "tail", "midi": False, "file_path": "/tmp/tail.wav", "start_time": 30.0, "end_time": 34.0}]
    live["tracks"][2]["arrangement"] = mine
    bridge = fake_bridge_factory(renders)
    out = run(run_device, bridge, live, UNLOCKED + [["takes", 2], ["target", 1]], [["generate"]], wait=2)
    clips = out["live"]["tracks"][2]["arrangement"]
    assert [(c["name"], c["start_time"], c["end_time"]) for c in clips if not c["name"].startswith(PROMPT)] == \
        [("verse", 12.0, 20.0), ("tail", 30.0, 34.0)]
    ours = [c for c in clips if c["name"].startswith(PROMPT)]
    # 8 beats each: 20..28 is free; 28..36 would cut into 'tail' (30..34): the next bar line after it is 36
    assert [(c["start_time"], round(c["end_time"], 6)) for c in ours] == [(20.0, 28.0), (36.0, 44.0)]
    assert all(c["looping"] == 1 and c["warping"] == 1 and c["loop_end"] == 8.0 for c in ours)
    assert not [e for e in out["live"]["log"] if e["op"] == "replaced"]
    done = [s for s in out["status"] if s.startswith("Done")]
    assert done[0].endswith("in 'JASCO' arrangement bar 6 (bar 4 was taken)")
    assert done[1].endswith("in 'JASCO' arrangement bar 10")


def test_prompt_tracks_and_settings_survive_saving_and_reopening(run_device, fake_bridge_factory) -> None:
    bridge = fake_bridge_factory(renders)
    settings = [["refresh"], ["prompt", "text", "dusty funk, 92 bpm"], ["target_track", 1], ["drums_track", 1],
                ["chords", 2], ["steps", 300], ["seed", 4242], ["lock_seed", 1], ["takes", 3], ["cfg_all", -2.5]]
    # the set is saved and reopened before Generate: the device is a new one, restored from the set
    out = run(run_device, bridge, live_set(), settings, [["reload"], ["generate"]], wait=3)
    saved = out["saved"]
    assert saved["Steps"] == 300 and saved["Seed"] == 4242 and saved["Takes"] == 3 and saved["CFG all"] == -2.5
    assert saved["Bridge port"] == bridge.port and saved["Reply port"] == out["base_port"]
    # the blob is one symbol Max's message parsing cannot split: JSON, URI-encoded
    (blob,) = saved["JASCO state"]
    assert re.fullmatch(r"[A-Za-z0-9%_.!~*'()-]+", blob)
    state = json.loads(urllib.parse.unquote(blob))
    assert (state["prompt"], state["target_track"], state["drums_track"]) == ("dusty funk, 92 bpm", "JASCO", "Drums")
    # what the reopened device sent: the prompt, the settings, the drums of the chosen track
    heard = [(p.address, p.values) for p in bridge.listener.packets]
    assert ("/jasco/prompt", ("dusty funk, 92 bpm",)) in heard
    assert ("/jasco/set", ("steps", 300)) in heard and ("/jasco/set", ("cfg_all", -2.5)) in heard
    assert [v[1] for a, v in heard if a == "/jasco/set" and v[0] == "seed"] == [4242, 4243, 4244]
    assert ("/jasco/drums", ("/Users/me/Music/Loops/drums 92bpm.wav",)) in heard
    # the prompt box shows the text again, the takes went to the chosen track
    display = out["instances"][0]["display"]
    assert ["prompt", "set", "dusty funk, 92 bpm"] in display
    assert [s and s["file_path"].split("/")[-1] for s in out["live"]["tracks"][2]["slots"]][1:] == \
        ["job-1_s4242.wav", "job-2_s4243.wav", "job-3_s4244.wav"]


def test_replies_are_handled_in_the_order_they_arrive(run_device, fake_bridge_factory) -> None:
    def burst(job: str, state: dict[str, Any]) -> list[bytes]:
        out = [build("/jasco/queued", ("s", job), ("i", 0)), build("/jasco/started", ("s", job))]
        out += [build("/jasco/progress", ("s", job), ("f", k / 20)) for k in range(1, 20)]
        return out + [build("/jasco/done", ("s", job), ("s", "/clips/a.wav"), ("f", TWO_BARS_S), ("f", 96.5))]
    bridge = fake_bridge_factory(burst)
    out = run(run_device, bridge, live_set(), UNLOCKED, [["generate"]], wait=1)
    handled = [(r["address"], r["args"][1]["value"] if r["address"] == "/jasco/progress" else None)
               for r in out["replies"] if r["address"] != "/jasco/hello"]
    assert handled == ([("/jasco/queued", None), ("/jasco/started", None)] +
                       [("/jasco/progress", pytest.approx(k / 20)) for k in range(1, 20)] + [("/jasco/done", None)])
    assert out["status"][-1].startswith("Done") and "slot 2" in out["status"][-1]


def test_two_devices_never_share_a_reply_port(run_device, fake_bridge_factory) -> None:
    """Two devices (or a device and Max's editing copy) start from the same Reply port: the second
    finds it taken, says so, and listens on the next; each gets its own replies."""
    bridge = fake_bridge_factory(renders)
    out = run(run_device, bridge, live_set(), UNLOCKED, [["generate"]], wait=2, instances=2)
    first, second = out["instances"]
    assert first["reply_port"] == out["base_port"]
    # the next port up (or the next free one, if something else on this machine holds it)
    assert out["base_port"] < second["reply_port"] <= out["base_port"] + 8
    assert (f"Reply port {out['base_port']} is taken (another JASCO device, or Max's editing copy): "
            f"listening on {second['reply_port']}") in second["status"]
    # each device placed exactly its own take
    assert first["status"][-1].startswith("Done") and second["status"][-1].startswith("Done")
    slots = out["live"]["tracks"][2]["slots"]
    placed = {s["file_path"] for s in slots[1:3]}
    assert len(placed) == 2
    for device in (first, second):
        assert sum(p in device["status"][-1] for p in ("slot 2", "slot 3")) == 1
    # the hellos told the bridge two different ports
    hellos = {p.values[0] for p in bridge.listener.packets if p.address == "/jasco/hello"}
    assert {first["reply_port"], second["reply_port"]} <= hellos
    assert out["max_console"][0] == f"udpreceive: cannot bind port {out['base_port']}: EADDRINUSE"
