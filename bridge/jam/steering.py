"""Steering the jam over OSC: the usual OSC server (bridge.server.BridgeServer) in front of the jam.

The device and any OSC controller app set the prompt, drums and settings with the usual messages
(``/jasco/prompt``, ``/jasco/drums``, ``/jasco/set ...``); every phrase renders with the session of the
client that spoke last (the command line's ``--prompt``/``--preset``/``--seed`` until one has).
``/jasco/status`` answers the jam's state as well (``/jasco/jam``), which is also pushed to that client at
every boundary and take. A setting the client changed from its default wins over the command line's
(so ``jam --preset draft`` stays draft for a client that only sends a prompt). Phrases render at the boundaries, so ``/jasco/generate`` answers ``bad_config``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Callable

from bridge.jobs import IDLE, LOADING, RENDERING, WorkerStatus
from core.errors import BadConfig, UnknownJob
from core.params import RenderParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhraseSettings:
    """What a phrase renders with besides its chords."""

    prompt: str
    params: RenderParams
    drums_path: str | None = None


def merge(defaults: RenderParams, session: RenderParams) -> RenderParams:
    """The command line's settings, with every one the client changed from the table's default."""
    changed = {f.name: getattr(session, f.name) for f in dataclasses.fields(session)
               if getattr(session, f.name) != f.default}
    return dataclasses.replace(defaults, **changed)


class JamWorker:
    """The worker side of the OSC server in jam mode: the jam's state; no clip jobs."""

    def __init__(self, model: str, device: str, busy: Callable[[], bool], ready: Callable[[], bool]) -> None:
        self.model, self.device, self._busy, self._ready = model, device, busy, ready

    def status(self) -> WorkerStatus:
        state = RENDERING if self._busy() else IDLE if self._ready() else LOADING
        return WorkerStatus(state, 0, self.model, self.device)

    def submit(self, request: Any, listener: Any) -> str:
        raise BadConfig("this bridge is jamming: phrases render at the phrase boundaries, so /jasco/generate is "
                        "not available; steer the jam with /jasco/prompt, /jasco/drums and /jasco/set")

    def cancel(self, job_id: str) -> None:
        raise UnknownJob(f"no job {job_id!r}: the jam renders phrases, not jobs")

    def reported_interrupted(self) -> list[Any]:
        return []


class OscSteering:
    """A ``BridgeServer`` whose sessions steer the jam; ``settings()`` is what the next phrase renders with."""

    def __init__(self, server: Any, defaults: PhraseSettings) -> None:
        self.server = server
        self.defaults = defaults
        self._said: tuple[Any, ...] | None = None

    def settings(self) -> PhraseSettings:
        registry = self.server.registry
        client = registry.last_client
        if client is None:
            return self.defaults
        with registry.lock:
            s = registry.existing_session(client)
            if s is None:
                return self.defaults
            params = merge(self.defaults.params, s.params)
            return PhraseSettings(s.prompt or self.defaults.prompt, params, s.drums_path or self.defaults.drums_path)

    def tell(self, address: str, values: tuple[Any, ...]) -> None:
        """Send ``address`` to the client that spoke last (``/jasco/jam/take``)."""
        client = self.server.registry.last_client
        if client is None:
            return
        try:
            self.server.send(client, address, *values)
        except OSError as exc:
            log.debug("cannot tell %s %s: %s", client, address, exc)

    def announce(self, values: tuple[Any, ...]) -> None:
        """Push the jam's state to the client that spoke last (when it changed)."""
        client = self.server.registry.last_client
        if client is None or values == self._said:
            return
        self._said = values
        try:
            self.server.send(client, "/jasco/jam", *values)
        except OSError as exc:  # a client that went away; the jam goes on
            log.debug("cannot tell %s about the jam: %s", client, exc)
