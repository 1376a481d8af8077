"""One error hierarchy for the whole product, each class with a stable code.

The code (with its ``description``) is what clients see in ``/jasco/error <job> <code> <message>`` and what
tests assert on; never rename one. The message names the problem in words a
musician can act on. ``engine``, ``midi`` and ``bridge`` all raise these (this
module is torch-free so every package can import it).
"""

from __future__ import annotations

from typing import ClassVar


class JascoError(Exception):
    """Base class: ``code`` is stable, ``str(err)`` is the human message."""

    code: ClassVar[str] = "internal"
    # What the code means, for clients (``/jasco/errors``, docs/osc.md): every class says it once, here.
    description: ClassVar[str] = "a bug: the message says where (please report it)"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --- input at the boundary -------------------------------------------------
class BadAddress(JascoError):
    code = "bad_address"
    description = "unknown OSC address"


class BadArguments(JascoError):
    code = "bad_args"
    description = "wrong argument types or number of arguments"


class BadValue(JascoError):
    code = "bad_value"
    description = "right type, but the value is out of range or not allowed (names the field)"


class BadChord(JascoError):
    code = "bad_chord"
    description = "a string that is not a chord"


class BadNotes(JascoError):
    code = "bad_notes"
    description = "note data that cannot be interpreted"


class BadMidi(JascoError):
    code = "bad_midi"
    description = "a file that is not a readable MIDI file"


class BadAudio(JascoError):
    code = "bad_audio"
    description = "unreadable, corrupt or empty audio"


class UnsupportedFormat(JascoError):
    code = "unsupported_format"
    description = "an audio format the server cannot read"


class BadMelody(JascoError):
    code = "bad_melody"
    description = "a melody that cannot be used"


class BadConfig(JascoError):
    code = "bad_config"
    description = "a configuration that makes no sense"


class TooLarge(JascoError):
    code = "too_large"
    description = "a size bound was exceeded (packet, notes, prompt, audio length, a clip longer than 180 s)"


class ForbiddenPath(JascoError):
    code = "forbidden_path"
    description = "a path that escapes the allowed folder"


class NotFound(JascoError):
    code = "not_found"
    description = "a file the message names does not exist"


class Forbidden(JascoError):
    code = "forbidden"
    description = "the client's address is not on the server's allow-list"


# --- model --------------------------------------------------------------------
class ModelUnavailable(JascoError):
    code = "model_unavailable"
    description = (
        "the model is not available offline; the message gives the command to get it (jasco-bridge download)")


class ModelLoadError(JascoError):
    code = "model_load_failed"
    description = "the model's files are there but wrong"


class VocabularyError(JascoError):
    code = "vocab_unavailable"
    description = "the chord vocabulary file given (--vocab, or one in the model folder) is unreadable or refused"


# --- jobs -----------------------------------------------------------------------
class QueueFull(JascoError):
    code = "queue_full"
    description = "too many jobs waiting; try again when one is done"


class TooManyClients(JascoError):
    code = "too_many_clients"
    description = "the server's client tables are full of clients in use; try again in a few minutes"


class UnknownJob(JascoError):
    code = "unknown_job"
    description = "no such job of this client (or it already finished)"


class Cancelled(JascoError):
    code = "cancelled"
    description = "the job was cancelled"


class RenderFailed(JascoError):
    code = "render_failed"
    description = "the render raised an error"


class EngineDied(JascoError):
    code = "engine_died"
    description = "the engine process died mid-render (it is restarted)"


class EngineUnreachable(JascoError):
    code = "engine_unreachable"
    description = "the remote engine (serve --engine URL) cannot be reached; the next job tries again"


class EngineAuth(JascoError):
    code = "engine_auth"
    description = "the remote engine refused the token (serve --engine-token-file)"


class Interrupted(JascoError):
    code = "interrupted"
    description = "the server stopped while the job was queued or running"


# --- output ---------------------------------------------------------------------
class OutputError(JascoError):
    code = "io_error"
    description = "the clip could not be written"


class ClipDirUnwritable(OutputError):
    code = "clip_dir_unwritable"
    description = "the clip folder is missing or read-only"


class DiskFull(OutputError):
    code = "disk_full"
    description = "no space left for the clip"


class EnvironmentProblem(JascoError):
    code = "environment"
    description = "something in the environment is missing (the message says what)"


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
    code = "bad_packet"
    description = "the datagram is not valid OSC"


class HubRefused(JascoError):
    code = "hub_refused"
    description = ("the hub endpoint is plain http, or answered what the hub never sends (a path as an ETag); "
                   "nothing was written")
