"""MIDI -> JASCO conditions, without torch.

- :mod:`midi.vocab`      the model's chord vocabulary (label <-> index), loaded safely
- :mod:`midi.symbols`    typed chord symbols -> the nearest vocabulary label, with the reason
- :mod:`midi.notes`      the validated :class:`~midi.notes.Note` (beats) and Live's note JSON
- :mod:`midi.recognize`  notes -> a chord :class:`~midi.recognize.Progression` (seconds and beats)
- :mod:`midi.templates`  the vocabulary's labels (and voicings naming them) as pitch-class templates
- :mod:`midi.meter`      bar lines and metric strength, meter changes included
- :mod:`midi.files`      standard MIDI files (tempo map, meter, sustain) via mido
- :mod:`midi.melody`     a MIDI line -> the ``[53, T]`` one-hot melody matrix (50 Hz)
- :mod:`midi.midi_input` MIDI input (python-rtmidi, ALSA or JACK): held chords, recordings, triggers
- :mod:`midi.controller_map` the controller mapping file (triggers, record, hold, parameter CCs)
- :mod:`midi.ports`      MIDI backends and ports (python-rtmidi): choose, find, list, open
- :mod:`midi.clock`      following a MIDI clock: Start/Continue/Stop/Song Position, ticks, tempo

Nothing is imported here, so ``import midi`` stays cheap.
"""
