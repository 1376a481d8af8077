"""midi/ never imports torch (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys


def test_midi_package_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import midi, midi.vocab, midi.symbol_grammar, midi.symbol_mapping, midi.notes, midi.recognize, midi.midi_file, midi.file_chords, midi.melody, "
        "midi.midi_input, midi.clock, midi.ports, midi.controller_map\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
