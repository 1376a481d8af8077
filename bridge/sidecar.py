"""The JSON sidecar beside every clip: everything needed to render it again bit for bit.

Schema: ``docs/sidecar.md``. ``params`` is the request's :class:`core.params.RenderParams`
as a plain mapping (the parameter table's names), so ``render --from SIDECAR.json``
rebuilds the exact request.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import stat
from pathlib import Path
from typing import Any, Mapping

from bridge.dsp import FADE_MS, Processed
from core import __version__
from core.errors import BadConfig, JascoError, NotFound, TooLarge
from core.grid import FRAME_RATE
from core.requests import MAX_CHORDS, ChordEvent, RenderParams, RenderRequest, check_melody_frames

SIDECAR_SCHEMA = "jasco-bridge.sidecar/1"
MELODY_FRAME_RATE = FRAME_RATE  # the melody frames' rate, recorded in the sidecar
MAX_SIDECAR_BYTES = 4 << 20  # the longest clip's melody (9,000 frames) and 512 chords take a few hundred KB


def build_sidecar(request: RenderRequest, processed: Processed, *, audio_file: str,
                  engine_info: Mapping[str, Any], nfe: int | None, job_id: str = "",
                  drums_sha256: str | None = None, created: _dt.datetime | None = None,
                  timings: Mapping[str, Any] | None = None,
                  timeline: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to render the clip again bit for bit (schema: ``docs/sidecar.md``).

    ``timeline``: the engine's windows (frames, window, hop, loop, offsets, window evaluations);
    ``bars``, ``loop`` and ``hop`` in ``params`` decide them, so ``render --from`` renders the same."""
    p = request.params
    created = created or _dt.datetime.now(_dt.timezone.utc)
    req = request.to_dict()
    if drums_sha256 is not None:
        req["drums_sha256"] = drums_sha256
    return {
        "schema": SIDECAR_SCHEMA,
        "audio_file": audio_file,
        "created": created.isoformat(timespec="seconds"),
        "job_id": job_id,
        "tag": request.tag,
        "client": request.client,
        "prompt": request.prompt,
        "bpm": request.bpm,
        "time_signature": list(request.time_signature),
        "bars": p.bars,
        "bar_seconds": request.bar_seconds,
        "loop": request.is_loop,
        "hop": p.hop,
        "clip_seconds": request.clip_seconds,
        "timeline": dict(timeline) if timeline is not None else None,
        "chords": [
            {"given": c.given, "label": c.label, "start_beat": c.start_beat,
             "start_seconds": c.start_seconds, "exact": c.exact, "reason": c.reason}
            for c in request.chords
        ],
        "drums_file": request.drums_path,
        "drums_sha256": drums_sha256 if drums_sha256 is not None else request.drums_sha256,
        "drums_region": list(request.drums_region) if request.drums_region is not None else None,
        "drums_fill": p.drums_fill,
        "separate_drums": p.separate_drums,
        "melody_frames": list(request.melody_frames) if request.melody_frames is not None else None,
        "melody_frame_rate": MELODY_FRAME_RATE,
        "seed": p.seed,
        "solver": p.solver,
        "steps": p.steps,
        "rtol": p.rtol,
        "atol": p.atol,
        "cfg_all": p.cfg_all,
        "cfg_txt": p.cfg_txt,
        "sample_rate": p.sample_rate,
        "format": p.format,
        "bit_depth": p.bit_depth,
        "normalize": p.normalize,
        "loudness_lufs": p.loudness_lufs,
        "fade_ms": 0.0 if request.is_loop or not p.bars else FADE_MS,
        "model": request.model,
        "model_id": engine_info.get("model_id"),
        "model_revision": engine_info.get("model_revision"),
        "device": engine_info.get("device"),
        "dtype": engine_info.get("dtype"),
        "dtype_asked": engine_info.get("dtype_asked"),
        "compiled": engine_info.get("compiled"),
        "engine_version": engine_info.get("engine_version"),
        "engine_sample_rate": engine_info.get("sample_rate"),
        "bridge_version": __version__,
        "nfe": nfe,
        "seconds": processed.seconds,
        "samples": processed.samples,
        "channels": int(processed.audio.shape[0]),
        "trim": processed.trim,
        "normalization": processed.normalization,
        "timings": dict(timings or {}),
        "request": req,
    }


def load_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a sidecar; ``BadConfig`` when it is not one of ours, ``too_large`` past ``MAX_SIDECAR_BYTES``.

    Opened once without blocking (a FIFO is refused, not waited on) and read up to the bound."""
    p = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError as err:
        raise NotFound(f"sidecar {str(p)!r} does not exist") from err
    except (OSError, ValueError) as err:
        raise BadConfig(f"{p.name!r} is not a readable JSON sidecar: {err}") from err
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadConfig(f"{p.name!r} is not a file")
        raw = os.read(fd, MAX_SIDECAR_BYTES + 1)
    except OSError as err:
        raise BadConfig(f"{p.name!r} is not a readable JSON sidecar: {err}") from err
    finally:
        os.close(fd)
    if len(raw) > MAX_SIDECAR_BYTES:
        raise TooLarge(f"{p.name!r} is larger than {MAX_SIDECAR_BYTES // 1024} KB; a sidecar of the longest clip "
                       "with every chord is a few hundred KB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise BadConfig(f"{p.name!r} is not a readable JSON sidecar: {err}") from err
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("jasco-bridge.sidecar/"):
        raise BadConfig(f"{p.name!r} is not a jasco-bridge sidecar (no 'schema' field)")
    if not isinstance(data.get("request"), dict):
        raise BadConfig(f"{p.name!r} has no 'request' object")
    return data


def request_from_sidecar(sidecar: Mapping[str, Any]) -> RenderRequest:
    """Rebuild the exact ``RenderRequest`` stored in a sidecar's ``request`` field."""
    raw = dict(sidecar["request"]) if "request" in sidecar else dict(sidecar)
    try:
        params = raw.pop("params", {})
        if not isinstance(params, dict):
            raise BadConfig(f"the sidecar's params must be an object, got {type(params).__name__}")
        chords = raw.pop("chords", ())
        if not isinstance(chords, (list, tuple)) or not all(isinstance(c, dict) for c in chords):
            raise BadConfig("the sidecar's chords must be a list of objects")
        if len(chords) > MAX_CHORDS:  # checked before anything is made of them
            raise TooLarge(f"the sidecar has {len(chords)} chords; the limit is {MAX_CHORDS}")
        ts = raw.pop("time_signature", [4, 4])
        if not isinstance(ts, (list, tuple)) or len(ts) != 2 or not all(type(v) is int for v in ts):
            raise BadConfig(f"the sidecar's time_signature must be [numerator, denominator], got {ts!r}")
        melody = raw.pop("melody_frames", None)
        if melody is not None and not isinstance(melody, (list, tuple)):
            raise BadConfig(f"the sidecar's melody_frames must be a list, got {type(melody).__name__}")
        check_melody_frames(tuple(melody) if melody is not None else None)  # its length first, then its values
        region = raw.pop("drums_region", None)
        if region is not None and (not isinstance(region, (list, tuple)) or len(region) != 2
                                   or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in region)):
            raise BadConfig(f"the sidecar's drums_region must be [start_s, end_s], got {region!r}")
        return RenderRequest(
            params=RenderParams.from_dict(params), chords=tuple(ChordEvent(**c) for c in chords),
            time_signature=(ts[0], ts[1]),
            drums_region=(float(region[0]), float(region[1])) if region is not None else None,
            melody_frames=tuple(melody) if melody is not None else None, **raw,
        )
    except JascoError:
        raise
    except (TypeError, ValueError, IndexError, OverflowError) as err:
        raise BadConfig(f"the sidecar's request does not describe a render: {err}") from err
