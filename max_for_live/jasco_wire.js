// generated from bridge/protocol.py by max_for_live/make_patcher.py (bridge/device_wire.py); do not edit
var JASCO_WIRE = {
  "messages": {
    "/jasco/ping": {"args": [], "repeat": ["*"]},
    "/jasco/hello": {"args": ["i"]},
    "/jasco/status": {"args": []},
    "/jasco/prompt": {"args": ["*"], "repeat": ["*"]},
    "/jasco/tempo": {"args": ["f"], "optional": ["i", "i"]},
    "/jasco/chords": {"args": [], "repeat": ["s", "f"]},
    "/jasco/chords/clear": {"args": []},
    "/jasco/notes/clear": {"args": []},
    "/jasco/notes/add": {"args": [], "repeat": ["i", "f", "f", "f"]},
    "/jasco/notes/loop": {"args": ["f", "f"]},
    "/jasco/melody/clear": {"args": []},
    "/jasco/melody/add": {"args": [], "repeat": ["i", "f", "f", "f"]},
    "/jasco/drums": {"args": ["s"], "optional": ["f", "f"]},
    "/jasco/drums/clear": {"args": []},
    "/jasco/set": {"args": ["s", "*"]},
    "/jasco/reset": {"args": []},
    "/jasco/generate": {"args": [], "optional": ["s"]},
    "/jasco/cancel": {"args": ["s"]}
  },
  "replies": {
    "/jasco/pong": {"args": [], "repeat": ["*"]},
    "/jasco/hello": {"args": ["s", "s"]},
    "/jasco/status": {"args": ["s", "i", "s", "s", "s"]},
    "/jasco/jam": {"args": ["i", "i", "f", "s", "f", "i", "f", "s"]},
    "/jasco/jam/take": {"args": ["s", "i", "f", "i", "f"]},
    "/jasco/chords/mapped": {"args": [], "repeat": ["s", "s", "f", "i"]},
    "/jasco/drums/loaded": {"args": ["s", "f", "i"]},
    "/jasco/queued": {"args": ["s", "i", "s"]},
    "/jasco/note": {"args": ["s", "s"]},
    "/jasco/started": {"args": ["s"]},
    "/jasco/progress": {"args": ["s", "f"]},
    "/jasco/done": {"args": ["s", "s", "f", "f", "i"]},
    "/jasco/cancelled": {"args": ["s"]},
    "/jasco/error": {"args": ["s", "s", "s"]}
  },
  "max_packet_in": 32768,
  "max_packet_out": 8192,
  "max_notes_per_packet": 1024,
  "max_numerator": 32,
  "max_prompt_chars": 1000,
  "max_tag_chars": 200,
  "max_path_chars": 4096,
  "generate_refused": ["queue_full", "vocab_unavailable", "model_unavailable", "model_load_failed", "environment", "forbidden"],
  "error_codes": ["bad_address", "bad_args", "bad_audio", "bad_chord", "bad_config", "bad_melody", "bad_midi", "bad_notes", "bad_packet", "bad_value", "cancelled", "clip_dir_unwritable", "disk_full", "engine_auth", "engine_died", "engine_unreachable", "environment", "forbidden", "forbidden_path", "hub_refused", "internal", "interrupted", "io_error", "model_load_failed", "model_unavailable", "not_found", "queue_full", "render_failed", "too_large", "too_many_clients", "unknown_job", "unsupported_format", "vocab_unavailable"]
};
if (typeof module !== "undefined") { module.exports = JASCO_WIRE; }
