"""The address table, validation into frozen messages, and the wire format."""

from __future__ import annotations

import dataclasses
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge import protocol
from core.errors import BadAddress, BadArguments, BadPacket, BadValue, JascoError, TooLarge
from bridge.osc import MAX_PACKET_OUT, OscArg, decode_packet, encode_message, to_wire
from core.requests import RenderParams

from osc_helpers import bundle, type_tags


def args(*typed: tuple[str, object]) -> list[OscArg]:
    return [OscArg(t, v) for t, v in typed]


def test_every_address_is_declared_once_with_help() -> None:
    addresses = [s.address for s in protocol.MESSAGES]
    assert len(addresses) == len(set(addresses))
    assert all(a.startswith("/jasco/") for a in addresses)
    for spec in (*protocol.MESSAGES, *protocol.REPLIES):
        assert spec.help, spec.address
    for spec in protocol.MESSAGES:
        for r in spec.replies:
            assert r in {s.address for s in protocol.REPLIES}, (spec.address, r)
    # replies only use the three types Max understands (plus the echoing '*', sent as i/f/s)
    for spec in protocol.REPLIES:
        for a in (*spec.args, *spec.repeat):
            assert a.type in "ifs*"


def test_issue_minimum_address_space_is_present() -> None:
    need = {
        "/jasco/ping", "/jasco/hello", "/jasco/prompt", "/jasco/tempo", "/jasco/chords", "/jasco/notes/clear",
        "/jasco/notes/add", "/jasco/melody/clear", "/jasco/melody/add", "/jasco/drums", "/jasco/drums/clear",
        "/jasco/set", "/jasco/generate", "/jasco/cancel", "/jasco/status",
    }
    assert need <= {s.address for s in protocol.MESSAGES}
    replies = {"/jasco/pong", "/jasco/hello", "/jasco/queued", "/jasco/started", "/jasco/progress", "/jasco/done",
               "/jasco/error", "/jasco/cancelled", "/jasco/status"}
    assert replies <= {s.address for s in protocol.REPLIES}


def test_parse_tempo_with_and_without_time_signature() -> None:
    m = protocol.parse("/jasco/tempo", args(("f", 96.5)))
    assert m["bpm"] == 96.5 and m.get("numerator") is None
    m = protocol.parse("/jasco/tempo", args(("i", 120), ("f", 3.0), ("d", 4.0)))
    assert (m["bpm"], m["numerator"], m["denominator"]) == (120.0, 3, 4)
    assert isinstance(m["bpm"], float) and isinstance(m["numerator"], int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.address = "/x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.values["bpm"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "address, typed, exc, words",
    [
        ("/jasco/nope", [], BadAddress, "unknown address"),
        ("/other/ping", [], BadAddress, "start with /jasco/"),
        ("/jasco/tempo", [], BadArguments, "<bpm:f>"),
        ("/jasco/tempo", [("s", "fast")], BadArguments, "bpm"),
        ("/jasco/tempo", [("f", 120.0), ("i", 4)], BadArguments, "1 or 3 arguments"),
        ("/jasco/tempo", [("f", 5.0)], BadValue, "bpm"),
        ("/jasco/tempo", [("f", math.nan)], BadValue, "finite"),
        ("/jasco/tempo", [("f", math.inf)], BadValue, "finite"),
        ("/jasco/tempo", [("f", 120.0), ("i", 4), ("i", 3)], BadValue, "denominator"),
        ("/jasco/hello", [("i", 70000)], BadValue, "reply_port"),
        ("/jasco/hello", [("f", 9001.5)], BadValue, "whole number"),
        ("/jasco/hello", [("b", b"xx")], BadArguments, "reply_port"),
        ("/jasco/prompt", [("s", "x" * 1001)], TooLarge, "1000"),
        ("/jasco/prompt", [("N", None)], BadArguments, "text"),  # a word may be a number (808), not nil
        ("/jasco/notes/add", [("i", 60), ("f", 0.0), ("f", 1.0)], BadArguments, "groups of 4"),
        ("/jasco/notes/add", [], BadArguments, "notes/add"),
        ("/jasco/notes/add", [("i", 128), ("f", 0.0), ("f", 1.0), ("i", 100)], BadValue, "pitch"),
        ("/jasco/notes/add", [("i", 60), ("f", -1.0), ("f", 1.0), ("i", 100)], BadValue, "start_beat"),
        ("/jasco/notes/add", [("i", 60), ("f", 0.0), ("f", 0.0), ("i", 100)], BadValue, "duration_beat"),
        ("/jasco/chords", [("s", "C")], BadArguments, "groups of 2"),
        ("/jasco/chords", [("s", "C"), ("s", "0")], BadArguments, "start_beat"),
        ("/jasco/generate", [("s", "a"), ("s", "b")], BadArguments, "generate"),
        ("/jasco/cancel", [], BadArguments, "job"),
        ("/jasco/set", [("s", "seed")], BadArguments, "value"),
        ("/jasco/ping", [("N", None)], BadArguments, "value"),
    ],
)
def test_bad_messages_raise_coded_errors(address: str, typed: list, exc: type, words: str) -> None:
    with pytest.raises(exc) as info:
        protocol.parse(address, args(*typed))
    assert words in str(info.value)
    assert isinstance(info.value, JascoError) and info.value.code


def test_repeating_groups_are_bounded() -> None:
    note = [("i", 60), ("f", 0.0), ("f", 1.0), ("i", 100)]
    m = protocol.parse("/jasco/notes/add", args(*(note * 3)))
    assert m.groups == ((60, 0.0, 1.0, 100.0),) * 3
    with pytest.raises(TooLarge):
        protocol.parse("/jasco/notes/add", args(*(note * (protocol.NOTES_PER_PACKET + 1))))
    with pytest.raises(TooLarge):
        protocol.parse("/jasco/ping", args(*([("i", 1)] * (protocol.MAX_PING_ARGS + 1))))


def test_every_render_param_is_a_setting_and_converts() -> None:
    names = {f.name for f in dataclasses.fields(RenderParams)}
    assert names | {"model"} == set(protocol.SETTINGS_BY_NAME)
    assert protocol.convert_setting("steps", 8.0) == 8
    assert protocol.convert_setting("steps", "12") == 12
    assert protocol.convert_setting("cfg_all", 3) == 3.0
    assert protocol.convert_setting("separate_drums", 1) is True
    assert protocol.convert_setting("separate_drums", "off") is False
    assert protocol.convert_setting("solver", "dopri5") == "dopri5"
    # as a musician types them: choices in any case, numbers as text
    assert protocol.convert_setting("format", "FLAC") == "flac"
    assert protocol.convert_setting("solver", " Euler ") == "euler"
    assert protocol.convert_setting("model", "Owner/Model") == "Owner/Model"  # ids and folders as given
    assert protocol.convert_setting("steps", "12.0") == 12
    assert protocol.convert_setting("cfg_all", "2.5") == 2.5
    for name, value, words in [
        ("steps", 2.5, "steps"),
        ("steps", "many", "steps must be a whole number, got 'many'"),
        ("steps", "12.5", "whole number"),
        ("cfg_all", "nan", "cfg_all must be a finite number"),
        ("separate_drums", "maybe", "separate_drums must be 0 or 1"),
        ("solver", 3, "solver"),
        ("separate_drums", 2, "separate_drums"),
        ("nope", 1, "unknown setting"),
    ]:
        with pytest.raises(BadValue, match=words):
            protocol.convert_setting(name, value)


def test_every_error_code_is_documented() -> None:
    codes = protocol.error_codes()
    assert all(codes.values()), [c for c, t in codes.items() if not t]
    assert {"bad_address", "bad_args", "bad_value", "bad_chord", "queue_full", "forbidden", "bad_packet"} <= set(codes)


# --- wire format ----------------------------------------------------------------------------
def test_decoder_reads_python_osc_packets_with_their_tags() -> None:
    b = OscMessageBuilder("/jasco/ping")
    for value, tag in [(1, "i"), (2.5, "f"), ("héllo", "s"), (2.25, "d"), (2**40, "h"), (True, "T"), (b"ab", "b")]:
        b.add_arg(value, tag)
    (msg,) = decode_packet(b.build().dgram)
    assert msg.address == "/jasco/ping"
    assert msg.tags == "ifsdhTb"
    assert msg.values == (1, 2.5, "héllo", 2.25, 2**40, True, b"ab")


def test_bundles_are_flattened_in_order() -> None:
    a = OscMessageBuilder("/jasco/prompt")
    a.add_arg("x")
    b = OscMessageBuilder("/jasco/ping")
    inner = bundle(b.build().dgram)
    msgs = decode_packet(bundle(a.build().dgram, inner))
    assert [m.address for m in msgs] == ["/jasco/prompt", "/jasco/ping"]


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"abc", "multiple of 4"),
        (b"junkjunk", "address must start"),
        (b"/abc", "NUL"),
        (b"/a\x00\x00,i\x00\x00", "ends inside"),
        (b"/a\x00\x00,s\x00\x00\xff\xfe\x00\x00", "UTF-8"),
        (b"/a\x00\x00,q\x00\x00", "unsupported"),
        (b"/a\x00\x00xi\x00\x00\x00\x00\x00\x01", "','"),
        (b"#bundle\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x40", "bundle element size"),
        (b"/a\x00\x00,b\x00\x00\xff\xff\xff\xff", "negative blob"),
    ],
)
def test_decoder_refuses_garbage_with_bad_packet(data: bytes, words: str) -> None:
    with pytest.raises(BadPacket, match=words):
        decode_packet(data)


def test_deeply_nested_bundles_are_refused() -> None:
    m = OscMessageBuilder("/jasco/ping").build().dgram
    data = m
    for _ in range(20):
        data = bundle(data)
    with pytest.raises(BadPacket, match="nested"):
        decode_packet(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decoder_never_raises_anything_but_bad_packet(data: bytes) -> None:
    try:
        decode_packet(data)
    except BadPacket:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-(2**31), 2**31 - 1), st.floats(width=32, allow_nan=False), st.text(max_size=40)), max_size=10))
def test_encoder_round_trips_through_python_osc(values: list) -> None:
    typed = [to_wire(v) for v in values]
    packet = encode_message("/jasco/pong", typed)
    assert len(packet) < MAX_PACKET_OUT and len(packet) % 4 == 0
    msg = OscMessage(packet)
    assert type_tags(packet) == "".join(t for t, _ in typed)
    for (tag, v), got in zip(typed, msg.params):
        if tag == "f":
            assert got == pytest.approx(v, rel=1e-6, abs=1e-30) or (math.isinf(v) and got == v)
        elif tag == "s":
            assert got == v.replace("\x00", "")
        else:
            assert got == v


def test_encoder_sends_only_ifs_and_stays_under_8k() -> None:
    long = "é" * 20000
    packet = encode_message(*protocol.reply("/jasco/error", "", "bad_value", long))
    assert len(packet) < MAX_PACKET_OUT
    msg = OscMessage(packet)
    assert type_tags(packet) == "sss"
    assert msg.params[2].endswith("…") and msg.params[1] == "bad_value"
    many = encode_message(*protocol.reply("/jasco/pong", *range(5000)))
    assert len(many) < MAX_PACKET_OUT and set(type_tags(many)) == {"i"}
    assert to_wire(2**40) == ("f", float(2**40)) and to_wire(True) == ("i", 1) and to_wire(None) == ("s", "")
    with pytest.raises(ValueError):
        encode_message("/x", [("d", 1.0)])


def test_reply_types_follow_the_table() -> None:
    address, typed = protocol.reply("/jasco/done", "j1", "/tmp/a.wav", 8, 120, 42)
    assert typed == [("s", "j1"), ("s", "/tmp/a.wav"), ("f", 8.0), ("f", 120.0), ("i", 42)]
    with pytest.raises(ValueError):
        protocol.reply("/jasco/done", "j1")
    with pytest.raises(ValueError):
        protocol.reply("/jasco/undeclared")
    # address (16 bytes) + ",sis" (8) + "j" (4), then the int
    assert struct.unpack(">i", encode_message(*protocol.reply("/jasco/queued", "j", 3, "t"))[28:32]) == (3,)
    assert protocol.reply("/jasco/queued", "j", 3.0, "m4l-1")[1] == [("s", "j"), ("i", 3), ("s", "m4l-1")]
