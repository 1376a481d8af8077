"""Jam mode (``jasco-bridge jam``): a phrase-by-phrase accompanist that follows a clock.

- :mod:`bridge.jam.clock`    the beat clock: an internal one at a bpm, or a host's MIDI clock
- :mod:`bridge.jam.phrases`  the phrase grid and the notes played in each phrase
- :mod:`bridge.jam.budget`   render time against phrase length: does it keep up
- :mod:`bridge.jam.player`   which phrase sounds when: starts on boundaries, loops until the next is ready
- :mod:`bridge.jam.sinks`    where the audio goes: PortAudio (sounddevice) or a WAV file, one scheduler clock
- :mod:`bridge.jam.renderer` the engine side: phrase requests with the previous phrase's latents as context
- :mod:`bridge.jam.session`  the jam itself: at each boundary, recognise, render, queue
"""
