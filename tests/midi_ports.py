"""A virtual MIDI output on the tests' JACK server (the ``jack_server`` fixture): a controller or a host."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def virtual_output(client: str, port: str) -> Iterator[Any]:
    """A python-rtmidi output ``client:port`` that the bridge can open by the port's name; closed on exit."""
    import rtmidi

    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=client)
    out.open_virtual_port(port)
    try:
        yield out
    finally:
        out.close_port()
        out.delete()
