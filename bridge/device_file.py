"""The ``.amxd`` container of a Max for Live device: write it (plain or frozen) and read it back.

Every fact of the format lives here, learned from Ableton's own reader in
github.com/Ableton/maxdevtools (``maxdiff/amxd_textconv.py``, ``maxdiff/freezing_utils.py``,
``maxdiff/frozen_device_printer.py``) and checked against its test devices
(``maxdiff/tests/test_files/Test.amxd``, ``FrozenTest.amxd``). No code of theirs is copied; this
is an independent implementation of what those files read.

The file (``amxd_textconv.parse``) is a sequence of chunks::

    tag:4 ASCII | size:4 little-endian | data:size

- ``ampf`` (size 4): the device type, ``aaaa`` audio effect, ``mmmm`` MIDI effect, ``iiii``
  instrument (``parse_field``'s table; ``nagg``/``natt`` are MIDI Tools);
- ``meta`` (size 4): ignored by the reader; Max writes 1 for a plain device and 7 for a frozen
  one (Test.amxd, FrozenTest.amxd), little-endian;
- ``ptch``: the patcher. Plain: its JSON text, usually followed by one NUL byte
  (``handle_ptch`` drops a trailing 0). Frozen: it starts with ``mx@c`` and is a small archive
  (``frozen_device_printer.print_frozen_device``, ``freezing_utils.parse_footer``)::

      "mx@c" | header size:4 big-endian (16) | footer offset:8 big-endian | file data ... | footer

  offsets count from the start of the ``ptch`` data. The footer is ``dlst`` | size:4 BE (the whole
  footer, header included) | entries; each entry is ``dire`` | size:4 BE (the entry, header
  included) | fields, each field ``tag:4 | size:4 BE (field, header included) | value``:
  ``type`` (4 ASCII, e.g. ``JSON``, ``TEXT``), ``fnam`` (the file name, NUL-terminated and
  padded with NULs to a multiple of 4), ``sz32`` and ``of32`` (size and offset, 4 BE), ``vers``
  (4 BE, 0), ``flag`` (4 BE: 17 for the device itself, 0 for a dependency in FrozenTest.amxd) and
  ``mdat`` (4 BE, seconds since 1904-01-01 UTC: an HFS+ date). The first entry is always the
  device's own patcher (``get_frozen_stats``: "the first entry is always the device file").
- ``ciph``: an encrypted device (not written here; the reader refuses it).
"""

from __future__ import annotations

import datetime
import json
import struct
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from core.errors import BadValue

DEVICE_TYPES: Mapping[str, str] = {"aaaa": "audio effect", "mmmm": "MIDI effect", "iiii": "instrument"}
MIDI_EFFECT = "mmmm"
META_PLAIN = 1
META_FROZEN = 7
FROZEN_MAGIC = b"mx@c"
FROZEN_HEADER_SIZE = 16
FLAG_DEVICE = 17
FLAG_DEPENDENCY = 0
HFS_EPOCH_OFFSET = 2082844800  # seconds from 1904-01-01 (HFS+) to 1970-01-01 (Unix)
# the file types Max records for a dependency (dependency_cache "type", footer "type")
FILE_TYPES: Mapping[str, str] = {".js": "TEXT", ".maxpat": "JSON", ".json": "JSON", ".txt": "TEXT"}


@dataclass(frozen=True)
class Dependency:
    """One file frozen into a device: its name (no folders) and its bytes."""

    name: str
    data: bytes

    @property
    def file_type(self) -> str:
        for suffix, kind in FILE_TYPES.items():
            if self.name.endswith(suffix):
                return kind
        raise BadValue(f"cannot freeze {self.name!r}: unknown file type (known: {', '.join(FILE_TYPES)})")


@dataclass(frozen=True)
class FrozenEntry:
    """One file of a frozen device as the footer lists it."""

    name: str
    file_type: str
    flag: int
    modified: datetime.datetime
    data: bytes


@dataclass(frozen=True)
class Device:
    """An ``.amxd`` read back: its type, meta word, patcher and (frozen) files."""

    device_type: str
    meta: int
    patcher: Mapping[str, Any]
    frozen: tuple[FrozenEntry, ...] = ()

    @property
    def is_frozen(self) -> bool:
        return bool(self.frozen)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data


def _field(tag: bytes, value: bytes) -> bytes:
    return tag + struct.pack(">I", 8 + len(value)) + value


def _padded_name(name: str) -> bytes:
    raw = name.encode("ascii") + b"\x00"
    return raw + b"\x00" * (-len(raw) % 4)


def _hfs(moment: datetime.datetime) -> bytes:
    return struct.pack(">I", int(moment.timestamp()) + HFS_EPOCH_OFFSET)


def patcher_bytes(patcher: Mapping[str, Any]) -> bytes:
    """The patcher's JSON as Max saves it (tab-indented), with the trailing NUL Max writes."""
    return (json.dumps(patcher, indent="\t", ensure_ascii=False) + "\n").encode("utf-8") + b"\x00"


def write_plain(patcher: Mapping[str, Any], device_type: str = MIDI_EFFECT) -> bytes:
    """An unfrozen device: its dependencies stay beside it (the form to keep in a repository)."""
    if device_type not in DEVICE_TYPES:
        raise BadValue(f"unknown device type {device_type!r}; known: {', '.join(DEVICE_TYPES)}")
    return (_chunk(b"ampf", device_type.encode("ascii")) + _chunk(b"meta", struct.pack("<I", META_PLAIN))
            + _chunk(b"ptch", patcher_bytes(patcher)))


def write_frozen(patcher: Mapping[str, Any], device_name: str, dependencies: Sequence[Dependency], *,
                 modified: datetime.datetime, device_type: str = MIDI_EFFECT) -> bytes:
    """A frozen device: the patcher and every dependency inside one file (the form to share)."""
    if device_type not in DEVICE_TYPES:
        raise BadValue(f"unknown device type {device_type!r}; known: {', '.join(DEVICE_TYPES)}")
    names = [d.name for d in dependencies]
    if len(set(names)) != len(names) or device_name in names:
        raise BadValue(f"frozen file names must be unique, got {[device_name, *names]}")
    files = [(device_name, "JSON", FLAG_DEVICE, patcher_bytes(patcher))]
    files += [(d.name, d.file_type, FLAG_DEPENDENCY, d.data) for d in dependencies]
    body = bytearray()
    entries = bytearray()
    for name, kind, flag, data in files:
        offset = FROZEN_HEADER_SIZE + len(body)
        body += data
        fields = (_field(b"type", kind.encode("ascii").ljust(4)[:4]) + _field(b"fnam", _padded_name(name))
                  + _field(b"sz32", struct.pack(">I", len(data))) + _field(b"of32", struct.pack(">I", offset))
                  + _field(b"vers", struct.pack(">I", 0)) + _field(b"flag", struct.pack(">I", flag))
                  + _field(b"mdat", _hfs(modified)))
        entries += b"dire" + struct.pack(">I", 8 + len(fields)) + fields
    footer = b"dlst" + struct.pack(">I", 8 + len(entries)) + bytes(entries)
    footer_offset = FROZEN_HEADER_SIZE + len(body)
    archive = (FROZEN_MAGIC + struct.pack(">I", FROZEN_HEADER_SIZE) + struct.pack(">Q", footer_offset)
               + bytes(body) + footer)
    return (_chunk(b"ampf", device_type.encode("ascii")) + _chunk(b"meta", struct.pack("<I", META_FROZEN))
            + _chunk(b"ptch", archive))


# --- reading -------------------------------------------------------------------------------------
def _json_text(data: bytes, what: str) -> Mapping[str, Any]:
    text = data.rstrip(b"\x00").decode("utf-8")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as err:
        raise BadValue(f"{what} is not a Max patcher (JSON: {err})") from None
    if not isinstance(value, dict) or not isinstance(value.get("patcher"), dict):
        raise BadValue(f"{what} is not a Max patcher (no 'patcher' object)")
    return value


def _read_frozen(archive: bytes) -> tuple[FrozenEntry, ...]:
    if len(archive) < FROZEN_HEADER_SIZE:
        raise BadValue("frozen patcher: truncated header")
    footer_at = struct.unpack(">Q", archive[8:16])[0]
    footer = archive[footer_at:]
    if footer[:4] != b"dlst" or struct.unpack(">I", footer[4:8])[0] != len(footer):
        raise BadValue("frozen patcher: the footer is not a 'dlst' list of the recorded size")
    entries: list[FrozenEntry] = []
    rest = footer[8:]
    while rest:
        if rest[:4] != b"dire" or len(rest) < 8:
            raise BadValue("frozen patcher: a footer entry does not start with 'dire'")
        size = struct.unpack(">I", rest[4:8])[0]
        body, rest = rest[8:size], rest[size:]
        fields: dict[str, bytes] = {}
        while body:
            fsize = struct.unpack(">I", body[4:8])[0]
            if fsize < 8 or fsize > len(body):
                raise BadValue("frozen patcher: a footer field has a bad size")
            fields[body[:4].decode("ascii")] = body[8:fsize]
            body = body[fsize:]
        missing = {"type", "fnam", "sz32", "of32", "flag", "mdat"} - fields.keys()
        if missing:
            raise BadValue(f"frozen patcher: an entry lacks {', '.join(sorted(missing))}")
        offset = struct.unpack(">I", fields["of32"])[0]
        length = struct.unpack(">I", fields["sz32"])[0]
        if offset + length > footer_at:
            raise BadValue("frozen patcher: a file reaches past the file data")
        seconds = struct.unpack(">I", fields["mdat"])[0] - HFS_EPOCH_OFFSET
        entries.append(FrozenEntry(
            name=fields["fnam"].rstrip(b"\x00").decode("ascii"),
            file_type=fields["type"].rstrip(b"\x00").decode("ascii").strip(),
            flag=struct.unpack(">I", fields["flag"])[0],
            modified=datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc),
            data=archive[offset:offset + length]))
    if not entries:
        raise BadValue("frozen patcher: the footer lists no files")
    return tuple(entries)


def read(data: bytes) -> Device:
    """Read an ``.amxd`` (plain or frozen); anything else is ``BadValue`` saying what is wrong."""
    chunks: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if pos + 8 > len(data):
            raise BadValue("not a Max device: a truncated chunk header")
        tag = data[pos:pos + 4].decode("ascii", errors="replace")
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if pos + 8 + size > len(data):
            raise BadValue(f"not a Max device: chunk {tag!r} runs past the end")
        if tag not in ("ampf", "meta", "ptch", "ciph"):
            raise BadValue(f"not a Max device: unknown chunk {tag!r}")
        chunks[tag] = data[pos + 8:pos + 8 + size]
        pos += 8 + size
    if "ciph" in chunks:
        raise BadValue("the device is encrypted")
    if "ampf" not in chunks or "ptch" not in chunks:
        raise BadValue("not a Max device: no 'ampf' or 'ptch' chunk")
    device_type = chunks["ampf"].decode("ascii")
    meta = struct.unpack("<I", chunks["meta"])[0] if len(chunks.get("meta", b"")) == 4 else 0
    patch = chunks["ptch"]
    if patch[:4] == FROZEN_MAGIC:
        frozen = _read_frozen(patch)
        patcher = _json_text(frozen[0].data, f"the frozen device's {frozen[0].name}")
        return Device(device_type, meta, patcher, frozen)
    return Device(device_type, meta, _json_text(patch, "the device's patcher"))
