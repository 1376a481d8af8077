"""Tempo metadata in WAV files: the ACID chunk (tempo, beat count, loop flag) and a ``smpl`` loop.

A DAW (or a drag from the clip folder into one) then knows the clip's tempo instead of
guessing it. Both chunks are appended after ``data`` in the RIFF container, which readers
skip when they do not know them (RIFF: chunks are id, little-endian size, data, a pad byte
to an even size; Microsoft/IBM "Multimedia Programming Interface and Data Specifications
1.0", 1991, chapter 2 "RIFF").

- ``acid`` (24 bytes; Sonic Foundry's ACID loop chunk, no published specification; the
  layout is the one libsndfile reads in ``wav_read_acid_chunk``, src/wav.c, and that
  its ``SFC_GET_LOOP_INFO`` reports): u32 type flags (bit 0 one-shot, bit 1 root note valid,
  bit 2 stretch on, bit 3 disk-based), u16 root note, u16 unknown (0x8000), f32 unknown (0),
  u32 number of beats, u16 meter denominator, u16 meter numerator, f32 tempo (bpm).
- ``smpl`` (sampler chunk; IBM/Microsoft "Multimedia Programming Interface and Data
  Specifications 1.0" and Microsoft's later RIFFNEW additions; described at
  https://www.recordingblogs.com/wiki/sample-chunk-of-a-wave-file): 9 u32 header fields
  (manufacturer, product, sample period in ns, MIDI unity note, pitch fraction, SMPTE
  format, SMPTE offset, number of loops, sampler data size), then per loop 6 u32 (cue id,
  type 0 = forward, start sample, end sample (played, inclusive), fraction, play count
  0 = infinite). Written only for seamless loops.

The tempo is quarter notes per minute (Live's tempo); the beat count is the clip's length
in those beats. A clip that is not a whole number of beats (the model's 10 s window at most
tempos) is written as a one-shot with 0 beats: a reader then keeps its own length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from core.errors import OutputError

ACID_ONE_SHOT = 0x01
ACID_STRETCH = 0x04
ACID_UNKNOWN_ROOT = 60          # middle C, with the "root note valid" flag off
SMPL_FORWARD = 0
BEAT_TOLERANCE = 1e-3           # beats: a clip this close to a whole number of beats is whole


@dataclass(frozen=True)
class WavTempo:
    """What the chunks say: tempo (quarter notes per minute), time signature, loop or one-shot."""

    bpm: float
    numerator: int = 4
    denominator: int = 4
    loop: bool = False

    def beats(self, frames: int, rate: int) -> float:
        return frames / rate * self.bpm / 60.0


def acid_chunk(tempo: WavTempo, frames: int, rate: int) -> bytes:
    beats = tempo.beats(frames, rate)
    whole = abs(beats - round(beats)) <= BEAT_TOLERANCE and round(beats) > 0
    flags = ACID_STRETCH | (0 if (tempo.loop and whole) else ACID_ONE_SHOT)
    body = struct.pack("<IHHfIHHf", flags, ACID_UNKNOWN_ROOT, 0x8000, 0.0, int(round(beats)) if whole else 0,
                       int(tempo.denominator), int(tempo.numerator), float(tempo.bpm))
    return b"acid" + struct.pack("<I", len(body)) + body


def smpl_chunk(frames: int, rate: int) -> bytes:
    """One forward loop over the whole clip, played forever."""
    period_ns = int(round(1e9 / rate))
    header = struct.pack("<9I", 0, 0, period_ns, ACID_UNKNOWN_ROOT, 0, 0, 0, 1, 0)
    loop = struct.pack("<6I", 0, SMPL_FORWARD, 0, max(0, frames - 1), 0, 0)
    body = header + loop
    return b"smpl" + struct.pack("<I", len(body)) + body


def add_tempo_chunks(wav: bytes, tempo: WavTempo) -> bytes:
    """``wav`` (a complete RIFF/WAVE file) with the ACID chunk, and a ``smpl`` loop for a loop, appended."""
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise OutputError("not a RIFF/WAVE file: cannot add its tempo chunks")
    rate, block_align, data_bytes = 0, 0, None
    offset = 12
    while offset + 8 <= len(wav):
        cid, size = wav[offset:offset + 4], struct.unpack_from("<I", wav, offset + 4)[0]
        if cid == b"fmt " and size >= 16:
            rate = struct.unpack_from("<I", wav, offset + 12)[0]
            block_align = struct.unpack_from("<H", wav, offset + 20)[0]
        elif cid == b"data":
            data_bytes = size
        offset += 8 + size + (size & 1)
    if not rate or not block_align or data_bytes is None:
        raise OutputError("the WAV file has no fmt or data chunk: cannot add its tempo chunks")
    frames = data_bytes // block_align
    body = wav if len(wav) % 2 == 0 else wav + b"\x00"
    extra = acid_chunk(tempo, frames, rate)
    beats = tempo.beats(frames, rate)
    if tempo.loop and abs(beats - round(beats)) <= BEAT_TOLERANCE and frames > 0:
        extra += smpl_chunk(frames, rate)
    out = bytearray(body + extra)
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)
