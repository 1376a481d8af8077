"""``jasco-bridge chords``: recognise the chords of a MIDI file, or map typed chord symbols.

    jasco-bridge chords song.mid [--bpm 96] [--json] [--vocab PATH]
    jasco-bridge chords --symbols "Cmaj9 Ab7#9 F#m7b5/A" [--json]

The vocabulary comes from ``--vocab`` or :meth:`midi.vocab.ChordVocabulary.resolve`.
``--json`` prints ``[[label, start_seconds], ...]`` for a file and a list of
``{"input", "label", "exact", "reason"}`` objects for symbols.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.errors import BadValue


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="a standard MIDI file (.mid)")
    parser.add_argument("--symbols", metavar="TEXT", help='chord symbols to map, e.g. "Cmaj9 Ab7#9 F#m7b5/A"')
    parser.add_argument("--bpm", type=float, default=None, help="tempo (default: the file's tempo map)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--vocab", metavar="PATH", default=None, help="chord vocabulary (.pkl, .json or .tsv)")
    parser.add_argument("--model-dir", metavar="DIR", default=None, help="look for the vocabulary here")
    parser.add_argument("--quantize", type=float, default=None, metavar="BEATS", help="snap notes to this grid")
    parser.add_argument("--resolution", type=float, default=1.0, metavar="BEATS",
                        help="finest chord change to look for (default 1 beat)")
    parser.add_argument("--channel", type=int, default=None, help="only this MIDI channel (1-16)")
    parser.add_argument("--no-sustain", action="store_true", help="ignore the sustain pedal (CC64)")


def run(args: argparse.Namespace) -> int:
    from midi.vocab import ChordVocabulary

    if (args.file is None) == (args.symbols is None):
        raise BadValue("give either a MIDI file or --symbols TEXT (not both)")
    vocab = ChordVocabulary.resolve(explicit=args.vocab, model_dir=args.model_dir)
    if args.symbols is not None:
        from midi.symbol_mapping import map_symbols

        mappings = map_symbols(args.symbols, vocab)
        if not mappings:
            raise BadValue("--symbols is empty")
        if args.json:
            print(json.dumps([{"input": m.input, "label": m.label, "exact": m.exact, "reason": m.reason}
                              for m in mappings], ensure_ascii=False))
        else:
            width = max(len(m.input) for m in mappings)
            for m in mappings:
                tag = "exact" if m.exact else "nearest"
                print(f"{m.input:<{width}}  {m.label:<10} {tag:<7}  {m.reason}")
        return 0
    from midi.file_chords import progression_from_midi_file
    from midi.midi_file import channel_index

    _warn_if_melody(args.file, channel_index(args.channel))
    prog = progression_from_midi_file(
        args.file, vocab, bpm=args.bpm, channel=channel_index(args.channel), sustain=not args.no_sustain,
        quantize=args.quantize, resolution=args.resolution,
    )
    if args.json:
        print(json.dumps(prog.to_json()))
    else:
        for (label, secs), (_, beat) in zip(prog.seconds, prog.beats, strict=True):
            print(f"{secs:9.3f} s  beat {beat:8.3f}  {label}")
    return 0


def _warn_if_melody(path: str, channel: int | None) -> None:
    """A warning on stderr when the file sounds one note at a time: the chords are then guesses."""
    from midi.midi_file import read_midi
    from midi.notes import is_one_note_at_a_time, together_share

    notes = read_midi(path).select(channel=channel)
    if is_one_note_at_a_time(notes):
        print(f"warning: {path} sounds one note at a time (two or more notes sound together "
              f"{together_share(notes) * 100:.0f}% of the time): it is a melody, not chords, so the chords below "
              f"are guesses from single notes. For chords, give a part that plays them (--channel N picks one); "
              f"for the melody condition use `jasco-bridge melody {path}`.", file=sys.stderr)
