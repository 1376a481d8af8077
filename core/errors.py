"""One error hierarchy for the whole product, each class with a stable code.

The code is what clients see in ``/jasco/error <job> <code> <message>`` and what
tests assert on; never rename one. The message names the problem in words a
musician can act on. ``engine``, ``midi`` and ``bridge`` all raise these (this
module is torch-free so every package can import it).
"""

from __future__ import annotations

from typing import ClassVar


class JascoError(Exception):
    """Base class: ``code`` is stable, ``str(err)`` is the human message."""

    code: ClassVar[str] = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --- input at the boundary -------------------------------------------------
class BadAddress(JascoError):
    code = "bad_address"  # unknown OSC address


class BadArguments(JascoError):
    code = "bad_args"  # wrong OSC type tags or arity


class BadValue(JascoError):
    code = "bad_value"  # right type, value out of range / not allowed


class BadChord(JascoError):
    code = "bad_chord"  # a string that is not a chord at all, or a label not in the vocabulary


class BadNotes(JascoError):
    code = "bad_notes"  # note data that cannot be interpreted


class BadMidi(JascoError):
    code = "bad_midi"  # a file that is not a readable MIDI file


class BadAudio(JascoError):
    code = "bad_audio"  # unreadable / corrupt / empty audio


class UnsupportedFormat(JascoError):
    code = "unsupported_format"


class BadMelody(JascoError):
    code = "bad_melody"


class BadConfig(JascoError):
    code = "bad_config"  # a configuration file or checkpoint config that makes no sense


class TooLarge(JascoError):
    code = "too_large"  # a size bound was exceeded (notes, prompt, audio length)


class ForbiddenPath(JascoError):
    code = "forbidden_path"  # a path that escapes the allowed folder


class NotFound(JascoError):
    code = "not_found"  # a file the request names does not exist


class Forbidden(JascoError):
    code = "forbidden"  # a client address not on the allow-list


# --- model --------------------------------------------------------------------
class ModelUnavailable(JascoError):
    code = "model_unavailable"  # weights not cached / not found offline


class ModelLoadError(JascoError):
    code = "model_load_failed"  # files found but wrong (keys, shapes, corrupt)


class VocabularyError(JascoError):
    code = "vocab_unavailable"


# --- jobs -----------------------------------------------------------------------
class QueueFull(JascoError):
    code = "queue_full"


class TooManyClients(JascoError):
    code = "too_many_clients"  # the client tables are full of clients in use; try again later


class UnknownJob(JascoError):
    code = "unknown_job"


class Cancelled(JascoError):
    code = "cancelled"


class RenderFailed(JascoError):
    code = "render_failed"  # an exception inside the render


class EngineDied(JascoError):
    code = "engine_died"  # the engine process died mid-render


class EngineUnreachable(JascoError):
    code = "engine_unreachable"  # no remote engine at the configured URL (refused, unknown host, no route)


class EngineAuth(JascoError):
    code = "engine_auth"  # the remote engine refused the bearer token


class Interrupted(JascoError):
    code = "interrupted"  # the server stopped while the job was queued/running


# --- output ---------------------------------------------------------------------
class OutputError(JascoError):
    code = "io_error"


class ClipDirUnwritable(OutputError):
    code = "clip_dir_unwritable"


class DiskFull(OutputError):
    code = "disk_full"


class EnvironmentProblem(JascoError):
    code = "environment"


def all_codes() -> dict[str, type[JascoError]]:
    """Every stable code with its class (for docs and tests)."""
    out: dict[str, type[JascoError]] = {}
    stack: list[type[JascoError]] = [JascoError]
    while stack:
        cls = stack.pop()
        out.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return dict(sorted(out.items()))


# --- transport (appended by the OSC server) ------------------------------------
class BadPacket(BadArguments):
    code = "bad_packet"  # a datagram that is not valid OSC (garbage, truncated, bad padding)


class HubRefused(JascoError):
    code = "hub_refused"  # the hub endpoint answered something the hub never sends (a path in an ETag), or is plain http
