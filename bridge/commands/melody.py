"""``jasco-bridge melody``: a MIDI line -> the ``[53, T]`` melody matrix (``.npy``).

    jasco-bridge melody lead.mid --out melody.npy [--bpm 120] [--frames 500]

The highest sounding note per 50 Hz frame, bin = MIDI note - 43, folded by octaves into
G2..B6 (see :mod:`midi.melody`). The file is written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import BadValue, OutputError
from core.fileio import atomic_write
from core.grid import FRAME_RATE, WINDOW_FRAMES, WINDOW_SECONDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a standard MIDI file (.mid) holding the melody")
    parser.add_argument("--out", required=True, metavar="PATH", help="where to write the .npy matrix")
    parser.add_argument("--bpm", type=float, default=None, help="tempo (default: the file's tempo map)")
    parser.add_argument("--frames", type=int, default=WINDOW_FRAMES,
                        help=f"number of frames (default {WINDOW_FRAMES} = {WINDOW_SECONDS:g} s)")
    parser.add_argument("--frame-rate", type=float, default=FRAME_RATE,
                        help=f"frames per second (default {FRAME_RATE:g})")
    parser.add_argument("--extend-frames", type=int, default=0, help="lengthen each note by N frames")
    parser.add_argument("--start", type=float, default=0.0, metavar="BEAT", help="beat of frame 0")
    parser.add_argument("--channel", type=int, default=None, help="only this MIDI channel (1-16)")
    parser.add_argument("--track", type=int, default=None, help="only this track (0-based)")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from midi.midi_file import channel_index
    from midi.melody import melody_from_midi_file

    out = Path(args.out).expanduser()
    if out.suffix != ".npy":
        raise BadValue(f"--out must end in .npy, got {out}")
    if not out.absolute().parent.is_dir():
        raise OutputError(f"cannot write {str(out)!r}: the folder {str(out.absolute().parent)!r} does not exist")
    matrix = melody_from_midi_file(
        args.file, bpm=args.bpm, frames=args.frames, frame_rate=args.frame_rate,
        extend_frames=args.extend_frames, start=args.start, channel=channel_index(args.channel), track=args.track,
    )
    def save(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, matrix)

    atomic_write(out, save)
    active = int(matrix.any(axis=0).sum())
    print(f"wrote {out}: shape {list(matrix.shape)}, {active}/{matrix.shape[1]} frames with a note")
    return 0
