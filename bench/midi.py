"""Score chord recognition per category on the test corpus, time recognition of a 10,000-note
clip (goal: under 50 ms), and the melody matrix.

Run: ``python bench/midi.py [--vocab PATH] [--misses] [--pop909 DIR [--songs N]]``. The corpus (``tests/midi/corpus``):
real progressions realised as block chords, arpeggios, melody on top, walking bass and
four-part writing, and real printed chord symbols; accuracy is the share of time (sampled
every eighth note) with the expected label, or of symbols mapped as a musician would.

With ``--pop909 DIR`` (or ``$POP909_DIR``) it also scores public music none of us wrote:
the first ``--songs`` (100) songs of POP909, a local copy kept outside the repository
(``git clone --depth 1 https://github.com/music-x-lab/POP909-Dataset``; MIT licence), per
texture (PIANO alone, PIANO+BRIDGE, all tracks with the melody on top), per-beat exact label
and root, the dataset's labels read into the vocabulary by ``midi.symbol_mapping`` (the rule
is written in ``tests/midi/corpus/pop909.py``). Both tables print side by side.

The timing prints the median and best of several runs; the clip mixes block chords,
arpeggios, inversions, rests and a melody line. The fit is one small matrix product per
span length: on a busy machine, multi-threaded BLAS can slow it down (compare with
``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from midi.melody import melody_matrix  # noqa: E402
from midi.notes import Note  # noqa: E402
from midi.recognize import recognize  # noqa: E402
from midi.vocab import ChordVocabulary  # noqa: E402

SHAPES = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 4, 7, 11), (0, 3, 7, 10), (0, 3, 6), (0, 4, 8), (0, 4, 7, 9))


def make_clip(n_notes: int, seed: int = 0) -> list[Note]:
    rng = random.Random(seed)
    notes: list[Note] = []
    bar = 0
    while len(notes) < n_notes:
        root = rng.randrange(12)
        shape = rng.choice(SHAPES)
        t0 = bar * 4.0
        style = rng.random()
        if style < 0.1:
            pass  # a bar of rest
        elif style < 0.55:
            for beat in range(4):  # block chord on every beat, spread voicing
                for i, iv in enumerate(shape):
                    notes.append(Note(36 + root + iv + 12 * (i % 3), t0 + beat, 0.9, 90))
        else:
            for k in range(16):  # sixteenth-note arpeggio
                iv = shape[k % len(shape)]
                notes.append(Note(48 + root + iv + 12 * ((k // len(shape)) % 2), t0 + k * 0.25, 0.25, 80))
        for k in range(4):  # melody
            notes.append(Note(72 + rng.randrange(12), t0 + k, 1.0, 100))
        bar += 1
    return notes[:n_notes]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vocab", default=str(REPO.parent / "shared" / "chords" / "chord_to_index_mapping.pkl"))
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--misses", action="store_true", help="list the corpus samples recognised wrongly")
    parser.add_argument("--pop909", default=None,
                        help="a local POP909 copy (default $POP909_DIR); see tests/midi/corpus/pop909.py")
    parser.add_argument("--songs", type=int, default=100, help="POP909 songs scored (the first N)")
    args = parser.parse_args()
    vocab = ChordVocabulary.load(args.vocab)
    from tests.midi.corpus import evaluate
    from tests.midi.corpus.pop909 import ENV, evaluate_pop909, find_pop909

    scores = evaluate(vocab)
    ours = [f"{name:<14} {score.accuracy:7.1%}  ({score.correct:g}/{score.total:g})" for name, score in scores.items()]
    public = []
    root = find_pop909(args.pop909)
    if root is not None:
        t0 = time.perf_counter()
        for name, s in evaluate_pop909(root, vocab, songs=args.songs).items():
            public.append(f"{name:<13} {s.exact_accuracy:6.1%} {s.root_accuracy:6.1%}  ({s.total} beats)")
        public_time = time.perf_counter() - t0
    width = max(len(line) for line in ours) + 4
    print(f"{'our corpus (accuracy per category)':<{width}}"
          + (f"POP909, first {args.songs} songs (exact, root per beat)" if public else ""))
    for i in range(max(len(ours), len(public))):
        left = ours[i] if i < len(ours) else ""
        right = public[i] if i < len(public) else ""
        print(f"  {left:<{width - 2}}{right}")
    if root is None:
        print(f"  (POP909 not scored: pass --pop909 DIR or set ${ENV}; see tests/midi/corpus/pop909.py)")
    else:
        print(f"  (POP909 scored in {public_time:.1f} s)")
    if args.misses:
        for name, score in scores.items():
            for miss in score.misses:
                print(f"      {miss}")
    notes = make_clip(args.notes)
    recognize(notes, bpm=120.0, vocab=vocab)  # warm-up (template cache)
    times = []
    cpu = []
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        prog = recognize(notes, bpm=120.0, vocab=vocab)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = statistics.median(times) * 1000
    best = min(times) * 1000
    beats = max(n.start + n.duration for n in notes)
    print(f"recognize: {len(notes)} notes, {beats:.0f} beats, {len(prog.beats)} chords: "
          f"median {med:.1f} ms, best {best:.1f} ms (CPU time median {statistics.median(cpu) * 1000:.1f} ms) "
          f"over {args.runs} runs "
          f"(goal < 50 ms: {'ok' if med < 50 else 'MISSED'}); load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    melody_matrix(notes, bpm=120.0, frames=500)
    print(f"melody_matrix: {len(notes)} notes -> [53, 500]: {(time.perf_counter() - t0) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
