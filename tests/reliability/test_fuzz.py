"""Fuzzing a real ``jasco-bridge serve`` process over real UDP.

Hypothesis draws messages for every address of ``bridge.protocol.MESSAGES``:
valid ones and ones broken on purpose (wrong type tags, wrong arity, values out
of range, NaN/inf, strings past their limit, blobs, 64-bit ints and doubles),
plus raw UDP garbage and truncated packets. After each one a ping round trip
collects what the server answered. The server must stay up, answer every
message that is broken on purpose with ``/jasco/error "" <code>`` (the code the
mutation calls for), never answer ``internal``, keep every reply within the wire
contract (i/f/s only, < 8 KB), and still answer ``/jasco/ping`` at the end.
``bench/reliability.py fuzz`` sends 10,000 such packets.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from bridge import protocol
from reliability_rig import (
    KNOWN_CODES,
    OUT_TAGS,
    Generated,
    Peer,
    RandomChooser,
    Reply,
    Server,
    fake_args,
    garbage_packet,
    generate_message,
    raw_message,
    temp_files,
)

MAX_UDP_PAYLOAD = 65507  # IPv4: 65535 - 8 (UDP header) - 20 (IP header)
# No shrinking: a failing example is printed as drawn (shrinking over UDP round trips takes minutes).
FUZZ_SETTINGS = settings(max_examples=300, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.reuse, Phase.generate],
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.function_scoped_fixture])


# OSC strings are NUL-terminated: a NUL inside one cannot be sent (it would be a different packet)
OSC_CHARS = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))


class HypothesisChooser:
    """The rig's ``Chooser`` driven by hypothesis (so failures shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def real(self, lo: float, hi: float) -> float:
        return self.data.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))

    def choice(self, items: Sequence[Any]) -> Any:
        return self.data.draw(st.sampled_from(list(items)))

    def text(self, min_len: int, max_len: int) -> str:
        if max_len > 64:  # long strings: a repeated character (hypothesis' text would be slow)
            n = self.integer(min_len, max_len)
            return self.data.draw(st.sampled_from("xé♯日🎹")) * n
        return self.data.draw(st.text(OSC_CHARS, min_size=min_len, max_size=max_len))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, chords_pkl: Path) -> Iterator[tuple[Server, Path]]:
    clips = tmp_path_factory.mktemp("fuzz") / "clips"
    server = Server(*fake_args(clips, "--vocab", str(chords_pkl), "--max-queue", "2"))
    try:
        yield server, clips
    finally:
        server.kill()
        assert not server.orphans()


@pytest.fixture(scope="module")
def fuzz_peer(fuzz_server: tuple[Server, Path]) -> Iterator[Peer]:
    server, _ = fuzz_server
    with Peer(server.address) as peer:
        peer.wait_state(["idle"], timeout=60)
        yield peer


def check_wire(replies: Sequence[Reply]) -> None:
    for r in replies:
        assert set(r.tags) <= OUT_TAGS, r
        assert r.size < 8192, r
        if r.address == "/jasco/error":
            assert r.args[1] in KNOWN_CODES, r
            assert r.args[1] != "internal", r


def exchange(peer: Peer, packet: bytes) -> list[Reply]:
    """Send one packet and return the answers to it (errors without a job, and sync replies)."""
    start = peer.mark()
    peer.send_raw(packet)
    if b"/jasco/hello" in packet:  # a valid hello re-registers this client elsewhere: come back first
        peer.send_raw(raw_message("/jasco/hello", [("i", peer.port)]))
    token = f"fuzz-{start}-{id(packet)}"
    peer.send("/jasco/ping", token)
    pong = peer.expect("/jasco/pong", where=lambda r: r.args == (token,), since=start, timeout=15)
    seen = peer.between(start)
    answers = seen[: seen.index(pong)]
    if packet.startswith(b"/jasco/generate\x00") and not any(_answers_a_generate(r) for r in answers):
        # A generate the OSC thread accepted is answered by the preparer's thread, maybe after the pong: wait for
        # its answer (/jasco/queued, or /jasco/error with no job), so that it is not read as the next packet's.
        answers.append(peer.wait_count(1, _answers_a_generate, since=start, timeout=15)[0])
        seen = peer.between(start)
    check_wire(seen)
    return [r for r in answers if r.address not in ("/jasco/pong", "/jasco/hello") and (r.address != "/jasco/error" or r.args[0] == "")]


def _answers_a_generate(r: Reply) -> bool:
    return r.address == "/jasco/queued" or (r.address == "/jasco/error" and r.args[:1] == ("",))


def assert_answered(gen: Generated, replies: list[Reply]) -> None:
    errors = [r for r in replies if r.address == "/jasco/error"]
    if gen.must_fail:
        assert errors, f"{gen.kind} {gen.address} {gen.packet[:120]!r} got no /jasco/error: {replies}"
        assert errors[0].args[1] in gen.codes, (gen.kind, gen.address, errors[0].args, gen.packet[:200])
        assert len(errors) == 1, errors


@given(data=st.data())
@FUZZ_SETTINGS
def test_fuzzed_messages_get_coded_errors(fuzz_peer: Peer, data: st.DataObject) -> None:
    gen = generate_message(HypothesisChooser(data))
    # 256 repeated arguments of 1000 four-byte characters: larger than any UDP datagram, which the sending OS
    # refuses (EMSGSIZE) before the server could see it; not a message anyone can send.
    assume(len(gen.packet) <= MAX_UDP_PAYLOAD)
    replies = exchange(fuzz_peer, gen.packet)
    assert_answered(gen, replies)


MUTATIONS = ["valid", "type", "range", "length", "nonfinite", "arity"]


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_every_address_survives_every_mutation(fuzz_peer: Peer, mutation: str) -> None:
    """Each address of the table with each kind of damage (a fixed seed; the @given test explores)."""
    chooser = RandomChooser(seed=MUTATIONS.index(mutation))
    codes: Counter[str] = Counter()
    for spec in protocol.MESSAGES:
        for _ in range(3):
            gen = generate_message(chooser, spec, mutation)
            replies = exchange(fuzz_peer, gen.packet)
            assert_answered(gen, replies)
            codes.update(r.args[1] for r in replies if r.address == "/jasco/error")
    if mutation != "valid":
        assert sum(codes.values()) >= len(protocol.MESSAGES) * 3, codes


@given(data=st.data())
@FUZZ_SETTINGS
def test_garbage_and_truncated_packets(fuzz_peer: Peer, data: st.DataObject) -> None:
    packet, kind = garbage_packet(HypothesisChooser(data))
    replies = exchange(fuzz_peer, packet)
    errors = [r for r in replies if r.address == "/jasco/error"]
    if kind in ("random", "bad-tags", "empty", "bad-utf8", "negative-blob") and not packet.startswith(b"/"):
        assert errors and errors[0].args[1] == "bad_packet", (packet[:80], replies)
    elif kind in ("bad-tags", "bad-utf8", "negative-blob"):
        assert errors and errors[0].args[1] == "bad_packet", (kind, packet[:80], replies)
    elif kind == "oversize":
        assert errors and errors[0].args[1] == "too_large", replies
    elif kind == "random" and len(packet) % 4:
        assert errors and errors[0].args[1] == "bad_packet", (packet[:80], replies)
    # truncated / bundles / address-only may decode to a valid message: any answer is fine, a crash is not


def test_server_is_still_up_after_fuzzing(fuzz_server: tuple[Server, Path], fuzz_peer: Peer) -> None:
    server, clips = fuzz_server
    assert server.alive(), server.output()[-3000:]
    assert not fuzz_peer.undecodable
    fuzz_peer.send("/jasco/reset")
    assert fuzz_peer.ping() == []
    st_ = fuzz_peer.status()
    assert st_[0] in ("idle", "rendering", "loading"), st_
    # the fuzzed session can still render, and the folder holds only complete clips
    fuzz_peer.send("/jasco/set", "steps", 2)
    fuzz_peer.send("/jasco/set", "bars", 1)
    deadline_replies = fuzz_peer.generate("after-fuzz", timeout=10)
    while deadline_replies.address == "/jasco/error":  # the queue may still hold fuzzed jobs
        assert deadline_replies.args[1] == "queue_full", deadline_replies
        fuzz_peer.ping()
        deadline_replies = fuzz_peer.generate("after-fuzz", timeout=10)
    job = deadline_replies.args[0]
    final = fuzz_peer.wait_final(job, timeout=60)
    assert final.address == "/jasco/done", final
    assert Path(final.args[1]).parent == clips
    assert "Traceback" not in server.output()
    assert temp_files(clips) == []


# --- inputs the fuzzers found ------------------------------------------------------------------------------
def test_overlong_drum_path_is_a_coded_error(fuzz_peer: Peer) -> None:
    """Found by the fuzzer: a path longer than the filesystem allows (ENAMETOOLONG) was ``internal``
    (fixed in ``bridge/audio.py``: every OSError from stat becomes a coded error)."""
    start = fuzz_peer.mark()
    fuzz_peer.send("/jasco/drums", "/tmp/" + "x" * 300 + ".wav")
    assert fuzz_peer.expect_error(since=start).args[1] == "bad_audio"
    start = fuzz_peer.mark()
    fuzz_peer.send("/jasco/drums", "/tmp/" + "/".join(["y" * 200] * 20) + ".wav")  # PATH_MAX exceeded too
    assert fuzz_peer.expect_error(since=start).args[1] in ("bad_audio", "not_found")


@pytest.mark.parametrize("address, args", [("/jasco/drums", ("~nosuchuser-jasco/loop.wav",)),
                                           ("/jasco/set", ("model", "~nosuchuser-jasco/model")),
                                           ("/jasco/set", ("model", "m" * 300))])
def test_paths_the_session_cannot_resolve_are_coded_errors(fuzz_peer: Peer, address: str, args: tuple[str, ...]) -> None:
    start = fuzz_peer.mark()
    fuzz_peer.send(address, *args)
    err = fuzz_peer.expect_error(since=start)
    assert err.args[1] in ("not_found", "bad_value"), err.args
