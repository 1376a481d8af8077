"""The Max for Live device's cost in a large Live set: loading, a track change, a placement.

Run: ``python bench/device.py [--tracks 10 100 500] [--repeat 20]`` (needs ``node``). The device's
JavaScript (max_for_live/jasco_core.js) runs under Node against the tests' mock of Live's object
model (tests/device/js/mock_live.js), which counts the LiveAPI objects the device makes: each is
a bridge object into Live, and Max's [js] makes them on the main thread, so their number is what
a set's size costs in Live. Measured for each set size in one run:

- load: createDevice + init (the track menus filled), LiveAPI objects and milliseconds;
- track change: what Live's "tracks" notification costs (refreshTracks);
- the same track list read the way the device did before (one LiveAPI object per property and
  track: five per track), for the ratio;
- one take placed in the session (create, timing pinned, loop, name, read back).

Times are Node's, not Max's (Max's [js] is slower): compare the ratios, and the object counts,
which are the same in Max. The budget in max_for_live/README.md is stated from these numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

DRIVER = r"""
const path = require("path");
const [repo, sizes, repeat] = [process.argv[1], JSON.parse(process.argv[2]), Number(process.argv[3])];
const core = require(path.join(repo, "max_for_live", "jasco_core.js"));
const { MockLive } = require(path.join(repo, "tests", "device", "js", "mock_live.js"));

function spec(n) {
  const tracks = [];
  for (let i = 0; i < n; i++) tracks.push({ name: `track ${i}`, type: i % 3 === 0 ? "midi" : "audio", slots: [null, null] });
  return { version: [12, 1, 0], tempo: 120, tracks, default_file_seconds: 8 };
}

// The track list as the device read it before: a LiveAPI object per property and track.
function oldListTracks(live) {
  const n = live.count("live_set", "tracks"), out = [];
  for (let i = 0; i < n; i++) {
    const p = "live_set tracks " + i;
    out.push({ id: live.id(p), name: live.get(p, "name").join(" "),
      audio: Number(live.get(p, "has_audio_input")[0]) === 1 && Number(live.get(p, "is_foldable")[0]) === 0,
      frozen: Number(live.get(p, "is_frozen")[0]) === 1 });
  }
  return out;
}

function measure(mock, fn) {
  const before = mock.created, t0 = process.hrtime.bigint();
  for (let k = 0; k < repeat; k++) fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / repeat;
  return { objects: (mock.created - before) / repeat, ms };
}

const rows = [];
for (const n of sizes) {
  const mock = new MockLive(spec(n));
  const live = core.makeLiveAdapter(mock.liveAPIClass(0));
  let d = null;
  const load = measure(mock, () => {
    d = core.createDevice({ live, send: () => {}, ui: () => {}, random: () => 0.5, now: () => 0 });
    d.init();
  });
  const change = measure(mock, () => d.refreshTracks());
  const old = measure(mock, () => oldListTracks(live));
  const tracks = core.listTracks(live).filter((t) => t.audio);
  let k = 0;
  const place = measure(mock, () => {
    k += 1;
    const take = { press: { target: 0, trackId: tracks[k % tracks.length].id, bar: 4, bars: 2, position: 0, cursor: 0,
      replace: null }, index: 0, prompt: "bench" };
    core.placeTake(live, take, `/tmp/bench-${k}.wav`, 4, 120, k);
  });
  rows.push({ tracks: n, load, change, old, place });
}
process.stdout.write(JSON.stringify(rows));
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    node = shutil.which("node")
    if node is None:
        print("node is not installed: the device's JavaScript runs under Node here", file=sys.stderr)
        return 2
    proc = subprocess.run([node, "-e", DRIVER, str(REPO), json.dumps(args.tracks), str(args.repeat)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    rows = json.loads(proc.stdout)
    print(f"{'tracks':>6} | {'load obj':>8} {'load ms':>8} | {'change obj':>10} {'ms':>7} | "
          f"{'before obj':>10} {'ms':>7} | {'obj ratio':>9} {'ms ratio':>8} | {'place obj':>9} {'ms':>6}")
    for r in rows:
        ratio_obj = r["old"]["objects"] / max(r["change"]["objects"], 1e-9)
        ratio_ms = r["old"]["ms"] / max(r["change"]["ms"], 1e-9)
        print(f"{r['tracks']:>6} | {r['load']['objects']:>8.0f} {r['load']['ms']:>8.2f} | "
              f"{r['change']['objects']:>10.0f} {r['change']['ms']:>7.2f} | {r['old']['objects']:>10.0f} "
              f"{r['old']['ms']:>7.2f} | {ratio_obj:>8.0f}x {ratio_ms:>7.1f}x | {r['place']['objects']:>9.0f} "
              f"{r['place']['ms']:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
