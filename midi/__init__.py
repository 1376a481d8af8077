"""MIDI -> JASCO conditions, without torch.

- :mod:`midi.vocab`      the model's chord vocabulary (label <-> index), loaded safely
- :mod:`midi.symbol_grammar`  typed chord symbols -> a parsed :class:`~midi.symbol_grammar.ChordSymbol`
- :mod:`midi.symbol_mapping`  a parsed symbol -> the nearest vocabulary label, with the reason
- :mod:`midi.notes`      the validated :class:`~midi.notes.Note` (beats) and Live's note JSON
- :mod:`midi.recognize`  notes -> a chord :class:`~midi.recognize.Progression` (seconds and beats)
- :mod:`midi.templates`  the vocabulary's labels (and voicings naming them) as pitch-class templates
- :mod:`midi.meter`      bar lines and metric strength, meter changes included
- :mod:`midi.midi_file`  reading standard MIDI files (tempo map, meter, sustain) via mido
- :mod:`midi.file_chords`  the chords of a MIDI file (reading + recognition with the file's meter)
- :mod:`midi.melody`     a MIDI line -> the ``[53, T]`` one-hot melody matrix (50 Hz)
- :mod:`midi.midi_input` MIDI input (python-rtmidi, ALSA or JACK): held chords, recordings, triggers
- :mod:`midi.controller_map` the controller mapping file (triggers, record, hold, parameter CCs)
- :mod:`midi.ports`      MIDI backends and ports (python-rtmidi): choose, find, list, open
- :mod:`midi.clock`      following a MIDI clock: Start/Continue/Stop/Song Position, ticks, tempo

Nothing is imported here, so ``import midi`` stays cheap.
"""
