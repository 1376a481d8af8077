// generated from core/params.py by `jasco-bridge params --js`; do not edit
var JASCO_PARAMS = {
  "seed": {"type": "int", "lo": -1, "hi": 2147483647, "default": -1, "unit": "", "choices": null, "help": "random seed (-1: a fresh random seed for each generate; the seed used is reported with the clip)"},
  "steps": {"type": "int", "lo": 1, "hi": 1000, "default": 16, "unit": "", "choices": null, "help": "steps for euler / midpoint"},
  "cfg_all": {"type": "float", "lo": -20, "hi": 20, "default": 5, "unit": "", "choices": null, "help": "classifier-free guidance on all conditions"},
  "cfg_txt": {"type": "float", "lo": -20, "hi": 20, "default": 0, "unit": "", "choices": null, "help": "extra guidance on the text prompt"},
  "solver": {"type": "str", "lo": null, "hi": null, "default": "dopri5", "unit": "", "choices": ["euler", "midpoint", "dopri5"], "help": "ODE solver"},
  "bars": {"type": "int", "lo": 0, "hi": 64, "default": 0, "unit": "bars", "choices": null, "help": "cut the clip to exactly this many bars at the session tempo (0 = the full 10 s window)"},
  "port": {"type": "int", "lo": 1, "hi": 65535, "default": 9000, "unit": "", "choices": null, "help": "UDP port the bridge listens on"},
  "reply_port": {"type": "int", "lo": 1, "hi": 65535, "default": 9001, "unit": "", "choices": null, "help": "UDP port replies go to"},
  "sample_rate": {"type": "int", "lo": 8000, "hi": 192000, "default": 48000, "unit": "Hz", "choices": null, "help": "output sample rate (the DAW's)"},
  "format": {"type": "str", "lo": null, "hi": null, "default": "wav", "unit": "", "choices": ["wav", "flac", "ogg"], "help": "file format"},
  "normalize": {"type": "str", "lo": null, "hi": null, "default": "loudness", "unit": "", "choices": ["loudness", "peak", "none"], "help": "loudness normalisation"},
  "model": {"type": "str", "lo": null, "hi": null, "default": "facebook/jasco-chords-drums-400M", "unit": "", "choices": null, "help": "model for this client's renders: tiny, a hub id or a local folder"}
};
if (typeof module !== "undefined") { module.exports = JASCO_PARAMS; }
