"""The engine wire messages as byte frames, for a network (the remote engine's HTTP body).

The local engine process speaks ``core.wire`` over a socket pair with pickle framing,
which is fine between a parent and its own child but never across a network: unpickling
bytes from a peer runs whatever code the peer chose. Here every message is the tuple
``wire.encode`` gives, written as one frame::

    u32 big-endian header length | header (UTF-8 JSON) | raw array bytes, in order

where the header is ``{"v": <the tuple, arrays replaced by {"$nd": i}>, "nd": [{"dtype":
"<f4", "shape": [...]}, ...]}``. Only plain JSON values and numeric numpy arrays of a few
declared dtypes pass; JSON lists come back as tuples (``wire`` uses tuples), and the tuple
goes through ``wire.decode``, which refuses anything that is not a declared message.
Sizes are bounded before anything is allocated.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core import wire
from core.errors import BadArguments, BadConfig, TooLarge
from core.fileio import read_regular

MEDIA_TYPE = "application/x-jasco-frames"
MODEL_HEADER = "X-Jasco-Model"  # the model a render is for (HTTP header names are case-insensitive)
MAX_HEADER_BYTES = 1 << 20  # 1 MiB of JSON: chords, prompts and sampling fields are far smaller
MAX_DEPTH = 32  # nesting of a frame's values (messages nest a handful deep); deeper is a coded error
MAX_TOKEN_BYTES = 4096  # a bearer token file (both ends): a token is one word; a bigger file is not one
MAX_ARRAY_BYTES = 1 << 31  # 2 GiB in one frame (a long stereo drum stem is ~100 MB)
DTYPES = frozenset({"<f4", "<f8", "<i2", "<i4", "<i8", "|u1", "|b1"})
_LEN = struct.Struct(">I")

Reader = Callable[[int], bytes]


def _tree(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False) if arr.dtype.byteorder == ">" else arr
        if arr.dtype.str not in DTYPES:
            raise BadArguments(f"arrays of dtype {arr.dtype} cannot travel to the engine")
        arrays.append(arr)
        return {"$nd": len(arrays) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_tree(v, arrays) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise BadArguments("only string keys can travel to the engine")
        if "$nd" in value:
            raise BadArguments("'$nd' is reserved in engine frames")
        return {k: _tree(v, arrays) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise BadArguments(f"{type(value).__name__} cannot travel to the engine")


def pack(message: Any) -> bytes:
    """One declared ``core.wire`` message -> one frame."""
    arrays: list[np.ndarray] = []
    tree = _tree(wire.encode(message), arrays)
    header = json.dumps({"v": tree, "nd": [{"dtype": a.dtype.str, "shape": list(a.shape)} for a in arrays]},
                        separators=(",", ":"), allow_nan=True).encode("utf-8")
    if len(header) > MAX_HEADER_BYTES:
        raise TooLarge(f"engine message header of {len(header)} bytes (at most {MAX_HEADER_BYTES})")
    return b"".join([_LEN.pack(len(header)), header, *(a.tobytes() for a in arrays)])


def _read_exact(read: Reader, n: int, what: str) -> bytes:
    chunks = []
    left = n
    while left > 0:
        chunk = read(left)
        if not chunk:
            raise EOFError(f"the stream ended inside {what} ({n - left} of {n} bytes)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _array_specs(raw: Any) -> list[tuple[np.dtype, tuple[int, ...], int]]:
    if not isinstance(raw, list):
        raise BadArguments("engine frame: 'nd' must be a list")
    specs = []
    total = 0
    for spec in raw:
        if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES or not isinstance(spec.get("shape"), list):
            raise BadArguments(f"engine frame: bad array description {str(spec)[:80]}")
        shape = spec["shape"]
        if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d for d in shape) or len(shape) > 8:
            raise BadArguments(f"engine frame: bad array shape {str(shape)[:80]}")
        dtype = np.dtype(spec["dtype"])
        nbytes = math.prod(shape) * dtype.itemsize
        total += nbytes
        if total > MAX_ARRAY_BYTES:
            raise TooLarge(f"engine frame: arrays of more than {MAX_ARRAY_BYTES} bytes")
        specs.append((dtype, tuple(shape), nbytes))
    return specs


def _untree(value: Any, arrays: list[np.ndarray], depth: int = 0) -> Any:
    if depth > MAX_DEPTH and isinstance(value, (list, dict)):
        raise BadArguments(f"engine frame: values nested more than {MAX_DEPTH} deep")
    if isinstance(value, list):
        return tuple(_untree(v, arrays, depth + 1) for v in value)
    if isinstance(value, dict):
        if set(value) == {"$nd"}:
            index = value["$nd"]
            if not isinstance(index, int) or not 0 <= index < len(arrays):
                raise BadArguments("engine frame: bad array reference")
            return arrays[index]
        return {k: _untree(v, arrays, depth + 1) for k, v in value.items()}
    return value


def read_frame(read: Reader) -> Any | None:
    """The next message from ``read`` (a file's ``read``); None at a clean end of stream.

    ``EOFError`` when the stream ends inside a frame; ``BadArguments``/``TooLarge`` for
    anything that is not a well-formed frame of a declared message.
    """
    first = read(_LEN.size)
    if not first:
        return None
    if len(first) < _LEN.size:
        first += _read_exact(read, _LEN.size - len(first), "a frame length")
    (size,) = _LEN.unpack(first)
    if size > MAX_HEADER_BYTES:
        raise TooLarge(f"engine frame header of {size} bytes (at most {MAX_HEADER_BYTES})")
    try:
        header = json.loads(_read_exact(read, size, "a frame header").decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise BadArguments(f"engine frame: the header is not JSON ({err})") from None
    except RecursionError:  # the JSON parser's own limit, far past MAX_DEPTH
        raise BadArguments(f"engine frame: values nested more than {MAX_DEPTH} deep") from None
    if not isinstance(header, dict) or "v" not in header:
        raise BadArguments("engine frame: the header is not an object with 'v'")
    arrays = [np.frombuffer(bytearray(_read_exact(read, nbytes, "an array")), dtype=dtype).reshape(shape)
              for dtype, shape, nbytes in _array_specs(header.get("nd", []))]
    return wire.decode(_untree(header["v"], arrays))


def unpack(data: bytes) -> Any:
    """Exactly one message from ``data`` (a request body)."""
    view = memoryview(data)
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        chunk = bytes(view[pos:pos + n])
        pos += len(chunk)
        return chunk

    message = read_frame(read)
    if message is None:
        raise BadArguments("empty engine frame")
    if pos != len(data):
        raise BadArguments(f"{len(data) - pos} stray bytes after the engine frame")
    return message


def read_token(path: str | Path, what: str) -> str:
    """The bearer token in the file ``path`` (surrounding whitespace stripped), as both ends of the
    remote engine read it: a FIFO or other non-regular file is refused, not waited on; ``BadConfig``
    (naming ``what``, e.g. ``--engine-token-file``) when it is unreadable, too big or empty."""
    try:
        raw = read_regular(Path(path).expanduser(), MAX_TOKEN_BYTES)
        token = raw.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise BadConfig(f"cannot read {what} {path}: {err}") from None
    if len(raw) > MAX_TOKEN_BYTES:
        raise BadConfig(f"{what} {path} is larger than {MAX_TOKEN_BYTES} bytes; a token is one word")
    if not token:
        raise BadConfig(f"{what} {path} is empty")
    return token
