"""jasco-bridge's foundation: what every other package may import, and nothing else.

- :mod:`core.errors`    one error hierarchy, each class with a stable code
- :mod:`core.fileio`    atomic file writes
- :mod:`core.defaults`  host, ports, model and folders
- :mod:`core.params`    the one table of user-settable parameters
- :mod:`core.requests`  frozen render requests (validated against the table)
- :mod:`core.wire`      the messages between the render worker and the engine process

Pure Python (numpy at most); never imports ``midi``, ``engine`` or ``bridge``.
"""

__version__ = "0.1.0"
