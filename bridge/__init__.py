"""jasco-bridge: the OSC/MIDI server that puts JASCO inside the DAW.

This package never imports torch; the model lives in ``engine`` and runs in a
supervised child process.
"""

__version__ = "0.1.0"
