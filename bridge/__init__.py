"""jasco-bridge's top layer: the OSC/MIDI server, the render worker, clip output and the commands.

This package never imports torch; the model lives in ``engine`` and runs in a
supervised child process. Nothing imports ``bridge``.
"""

from core import __version__

__all__ = ["__version__"]
