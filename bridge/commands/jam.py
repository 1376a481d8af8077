"""``jasco-bridge jam``: play chords on a controller, hear the next phrase arrive on the beat.

Follows the host's MIDI clock on the MIDI input (or ``--bpm`` for an internal clock); every
``--bars`` bars what was played is recognised and the next phrase rendered after the end of the
last one (engine.continuation); audio goes to PortAudio (``--audio-out``) or a WAV file
(``--record``). The engine runs in its child process; no torch here.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

from core.defaults import DEFAULT_MODEL, DEFAULT_PORT, DEFAULT_REPLY_PORT, default_clip_dir
from core.errors import BadConfig
from core.grid import FRAME_RATE, SAMPLE_RATE
from core.params import param

log = logging.getLogger(__name__)
DEFAULT_CONTEXT_BEATS = 4  # one 4/4 bar of the previous phrase held as context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bridge.jam.takes import DEFAULT_KEEP

    parser.add_argument("--midi-in", metavar="PORT", default=None,
                        help="MIDI input (chords, and the host's MIDI clock unless --bpm); a virtual port "
                             "'jasco-bridge in' when omitted")
    parser.add_argument("--midi-api", choices=("alsa", "jack", "coremidi", "winmm"), default=None)
    parser.add_argument("--midi-map", type=Path, default=None,
                        help='controller mapping JSON; jam uses {"hold": {"note": 37}} and parameter CCs')
    parser.add_argument("--bpm", type=float, default=None, help="internal clock at this tempo (default: MIDI clock)")
    parser.add_argument("--bars", type=int, default=4, help="bars per phrase (default 4)")
    parser.add_argument("--beats-per-bar", type=int, default=4)
    parser.add_argument("--prompt", default="", help="text prompt of every phrase")
    parser.add_argument("--preset", default="draft", choices=param("preset").choices,
                        help="sampling preset (default draft: the fastest)")
    parser.add_argument("--seed", type=int, default=param("seed").default)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="hub id, local folder, or 'tiny'")
    parser.add_argument("--vocab", type=Path, default=None, help="chord vocabulary")
    parser.add_argument("--device", default="cpu", help="torch device of the engine")
    parser.add_argument("--audio-out", nargs="?", const="", default=None, metavar="DEVICE",
                        help="play through PortAudio (sounddevice); the default output when no device is named")
    parser.add_argument("--record", type=Path, default=None, metavar="WAV",
                        help="write the jam to this WAV file in real time (instead of or besides --audio-out)")
    parser.add_argument("--host", default="127.0.0.1", help="OSC listen address (steering: prompt, drums, settings)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"OSC port (default {DEFAULT_PORT}, as serve; 0: no OSC)")
    parser.add_argument("--reply-port", type=int, default=DEFAULT_REPLY_PORT, help="OSC reply port (0: the sender's)")
    parser.add_argument("--clip-dir", type=Path, default=None,
                        help=f"folder for the jam's takes, told to the device with /jasco/jam/take "
                             f"(default {default_clip_dir()})")
    parser.add_argument("--keep-takes", type=int, default=DEFAULT_KEEP, metavar="N",
                        help="keep this jam's newest N takes in the clip folder, removing older ones "
                             f"(default {DEFAULT_KEEP}; 0: write none and tell the device nothing)")
    parser.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)  # tests: stop after
    parser.add_argument("--report", type=Path, default=None, help=argparse.SUPPRESS)  # tests: switches, takes


def build(args: argparse.Namespace, vocab: Any, sample_rate: int = SAMPLE_RATE) -> tuple[Any, Any, list[Any], Any]:
    """The jam, its MIDI input, its sinks and its OSC server (None with ``--port 0``), none started."""
    from bridge.engines.local import EngineOptions, EngineSupervisor
    from bridge.jam.clock import InternalClock, MidiClockFollower
    from bridge.jam.phrases import PhraseGrid
    from bridge.jam.player import PhrasePlayer
    from bridge.jam.renderer import PhraseRenderer
    from bridge.jam.session import Jam
    from bridge.jam.sinks import FileSink, SoundDeviceSink
    from bridge.jam.steering import JamWorker, OscSteering, PhraseSettings
    from core.params import RenderParams
    from midi.midi_input import LiveInput

    grid = PhraseGrid(args.bars, args.beats_per_bar)
    clock: Any = InternalClock(args.bpm) if args.bpm is not None else MidiClockFollower()
    player = PhrasePlayer(clock, grid, sample_rate)
    supervisor = EngineSupervisor(EngineOptions(device=args.device))
    context = int(DEFAULT_CONTEXT_BEATS * 60.0 / (args.bpm or 120.0) * FRAME_RATE)

    def renderer(on_take: Any, on_progress: Any) -> PhraseRenderer:
        return PhraseRenderer(supervisor, args.model, context_frames=context, frame_rate=FRAME_RATE,
                              on_take=on_take, on_progress=on_progress)

    seed = args.seed if args.seed >= 0 else random.randrange(2**31)  # -1: one random seed for the jam
    defaults = PhraseSettings(args.prompt, RenderParams(preset=args.preset, seed=seed))
    server = steering = None
    if args.port:
        from bridge.server import BridgeServer

        worker = JamWorker(args.model, args.device, busy=lambda: jam.renderer.busy, ready=lambda: True)
        server = BridgeServer(worker, host=args.host, port=args.port, reply_port=args.reply_port,
                              vocab=vocab, model=args.model)
        steering = OscSteering(server, defaults)
    deliver = None
    if steering is not None and args.keep_takes > 0:  # the device places each take (bridge.jam.takes)
        from bridge.jam.takes import TakeDelivery, TakeFiles

        files = TakeFiles((args.clip_dir or default_clip_dir()).expanduser(), keep=args.keep_takes, model=args.model)
        deliver = TakeDelivery(files, clock, grid, steering.tell)
    jam = Jam(clock, grid, player, renderer, vocab=vocab, seed=seed,
              settings=steering.settings if steering is not None else (lambda: defaults),
              announce=steering.announce if steering is not None else None, deliver=deliver)
    if server is not None:
        server.jam = jam  # /jasco/status answers /jasco/jam too
    midi = LiveInput(args.midi_in, api=args.midi_api or "auto", mapping=args.midi_map, vocab=vocab,
                     on_message=jam.on_message, on_trigger=jam.on_trigger, virtual=args.midi_in is None,
                     client_name="jasco-jam")
    sinks: list[Any] = []
    if args.record is not None:
        sinks.append(FileSink(args.record, sample_rate, player.fill))
    if args.audio_out is not None:
        sinks.append(SoundDeviceSink(args.audio_out or None, sample_rate, player.fill))
    if not sinks:
        raise BadConfig("jam needs an output: --audio-out [DEVICE] and/or --record FILE.wav")
    return jam, midi, sinks, server


def run(args: argparse.Namespace) -> int:
    from bridge.vocabulary import VocabProvider

    provider = VocabProvider(args.vocab, args.model)
    provider.startup()
    vocab = provider.get()
    jam, midi, sinks, server = build(args, vocab)
    stop = threading.Event()
    old = signal.signal(signal.SIGINT, lambda *_: stop.set())
    sink_starts: dict[str, float] = {}
    try:
        jam.renderer.supervisor.ensure(args.model, check=lambda: None)  # load before the first boundary
        if server is not None:
            server.start()
        jam.start()
        for sink in sinks:
            sink.start()
            sink_starts[type(sink).__name__] = getattr(sink, "start_time", 0.0)
        if args.bpm is not None:
            jam.clock.start()
        print(f"jam: listening on {midi.port} ({midi.api}); phrases of {args.bars} bars; Ctrl-C stops", flush=True)
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while not stop.wait(0.1):
            if deadline is not None and time.monotonic() > deadline:
                break
        return 0
    finally:
        signal.signal(signal.SIGINT, old)
        midi.close()
        if server is not None:
            server.stop()
        for sink in sinks:
            sink.close()
        jam.close()
        if args.report is not None:
            report = {"sinks": sink_starts, "sample_rate": jam.player.sample_rate,
                      "switches": [sw.__dict__ for sw in jam.player.switches],
                      "takes": {n: {"chords": [c for c, _ in t.request.chords], "boundary": t.request.boundary,
                                    "prompt": t.request.prompt, "preset": t.request.sampling.get("preset"),
                                    "render_s": t.render_s, "samples": int(len(t.audio)),
                                    "head": [float(x) for x in t.audio[:1024]]}
                                for n, t in jam.takes.items()}}
            args.report.write_text(json.dumps(report, indent=1))
