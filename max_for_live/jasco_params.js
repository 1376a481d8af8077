// generated from core/params.py by `jasco-bridge params --js`; do not edit
var JASCO_PARAMS = {
  "seed": {
    "type": "int",
    "lo": -1,
    "hi": 2147483647,
    "default": -1,
    "unit": "",
    "choices": null,
    "special": {
      "-1": "a new random seed (0..16777215) for every render"
    },
    "scope": "render",
    "help": "random seed: the same seed and inputs give the same clip"
  },
  "preset": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "none",
    "unit": "",
    "choices": [
      "none",
      "sketch",
      "draft",
      "normal",
      "reference"
    ],
    "special": null,
    "scope": "render",
    "help": "speed/quality preset: none = use solver, steps, rtol, atol (defaults: audiocraft's dopri5 1e-5); sketch / draft / normal = few-evaluation solvers, 2 / 4 / 8 evaluations (measured error vs reference in bench/engine.py; sketch also runs a loop of up to 10 s at its own length, not in the model's 10 s window: the fastest take); reference = dopri5 1e-5. A preset other than none replaces solver, steps, rtol and atol"
  },
  "solver": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "dopri5",
    "unit": "",
    "choices": [
      "euler",
      "midpoint",
      "heun",
      "rk4",
      "dopri5"
    ],
    "special": null,
    "scope": "render",
    "help": "ODE solver (dopri5 is audiocraft's default; euler, midpoint, heun, rk4 are fixed-step)"
  },
  "steps": {
    "type": "int",
    "lo": 1,
    "hi": 1000,
    "default": 16,
    "unit": "steps",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "steps of the fixed-step solvers (evaluations per step: euler 1, midpoint 2, heun 2, rk4 4)"
  },
  "rtol": {
    "type": "float",
    "lo": 1e-09,
    "hi": 1.0,
    "default": 1e-05,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "relative tolerance of dopri5"
  },
  "atol": {
    "type": "float",
    "lo": 1e-09,
    "hi": 1.0,
    "default": 1e-05,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "absolute tolerance of dopri5"
  },
  "cfg_all": {
    "type": "float",
    "lo": -20.0,
    "hi": 20.0,
    "default": 5.0,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "classifier-free guidance weight of all conditions"
  },
  "cfg_txt": {
    "type": "float",
    "lo": -20.0,
    "hi": 20.0,
    "default": 0.0,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "extra guidance weight of the text prompt alone"
  },
  "melody_guidance": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "with_chords",
    "unit": "",
    "choices": [
      "with_chords",
      "always"
    ],
    "special": null,
    "scope": "render",
    "help": "which guidance terms drop the melody: with_chords = only when the clip has chords (audiocraft); always = like chords and drums"
  },
  "guidance": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "independent",
    "unit": "",
    "choices": [
      "independent",
      "audiocraft"
    ],
    "special": null,
    "scope": "render",
    "help": "independent: an item never depends on its batch mates; audiocraft: also reproduce the reference's batch padding effects (identical for a single clip)"
  },
  "bars": {
    "type": "int",
    "lo": 0,
    "hi": 128,
    "default": 0,
    "unit": "bars",
    "choices": null,
    "special": {
      "0": "the model's 10 s window (loop and hop do not apply)"
    },
    "scope": "render",
    "help": "clip length in bars at the session tempo (at most 180 s; longer clips than the model's 10 s window are rendered in overlapping windows)"
  },
  "loop": {
    "type": "bool",
    "lo": null,
    "hi": null,
    "default": true,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "with bars: a seamless loop of exactly the bars asked (its end flows into its start, no fade); 0 = a one-shot phrase (cut to the bars, faded out)"
  },
  "hop": {
    "type": "int",
    "lo": 0,
    "hi": 64,
    "default": 0,
    "unit": "beats",
    "choices": null,
    "special": {
      "0": "half the window, rounded to whole beats"
    },
    "scope": "render",
    "help": "distance between the windows of a loop or of a clip longer than the window"
  },
  "chord_order": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "list",
    "unit": "",
    "choices": [
      "list",
      "sorted"
    ],
    "special": null,
    "scope": "render",
    "help": "list: chords are read in the order given (audiocraft); sorted: by start time first"
  },
  "drums_fill": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "pad",
    "unit": "",
    "choices": [
      "pad",
      "repeat"
    ],
    "special": null,
    "scope": "render",
    "help": "a drum loop shorter than the window: pad with silence (audiocraft) or repeat it (a loop, or a clip longer than the window, always repeats the drums at their own length)"
  },
  "separate_drums": {
    "type": "bool",
    "lo": null,
    "hi": null,
    "default": false,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "separate the drums from a full mix first (needs demucs)"
  },
  "sample_rate": {
    "type": "int",
    "lo": 8000,
    "hi": 192000,
    "default": 48000,
    "unit": "Hz",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "output sample rate (the DAW's)"
  },
  "format": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "wav",
    "unit": "",
    "choices": [
      "wav",
      "flac",
      "ogg"
    ],
    "special": null,
    "scope": "render",
    "help": "output file format"
  },
  "bit_depth": {
    "type": "int",
    "lo": null,
    "hi": null,
    "default": 24,
    "unit": "bits",
    "choices": [
      16,
      24
    ],
    "special": null,
    "scope": "render",
    "help": "bit depth of wav/flac (ogg ignores it)"
  },
  "normalize": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "loudness",
    "unit": "",
    "choices": [
      "loudness",
      "peak",
      "none"
    ],
    "special": null,
    "scope": "render",
    "help": "loudness (integrated, ITU-R BS.1770), peak (-1 dBFS) or none (samples as decoded)"
  },
  "loudness_lufs": {
    "type": "float",
    "lo": -60.0,
    "hi": 0.0,
    "default": -14.0,
    "unit": "LUFS",
    "choices": null,
    "special": null,
    "scope": "render",
    "help": "target loudness of normalize loudness"
  },
  "model": {
    "type": "str",
    "lo": null,
    "hi": null,
    "default": "facebook/jasco-chords-drums-400M",
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "request",
    "help": "model: 'tiny' (embedded, makes noise), a hub id or a local folder"
  },
  "bpm": {
    "type": "float",
    "lo": 20.0,
    "hi": 999.0,
    "default": 120.0,
    "unit": "bpm",
    "choices": null,
    "special": null,
    "scope": "request",
    "help": "tempo in quarter notes per minute"
  },
  "numerator": {
    "type": "int",
    "lo": 1,
    "hi": 32,
    "default": 4,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "request",
    "help": "time signature numerator"
  },
  "denominator": {
    "type": "int",
    "lo": null,
    "hi": null,
    "default": 4,
    "unit": "",
    "choices": [
      1,
      2,
      4,
      8,
      16,
      32
    ],
    "special": null,
    "scope": "request",
    "help": "time signature denominator"
  },
  "port": {
    "type": "int",
    "lo": 1,
    "hi": 65535,
    "default": 9000,
    "unit": "",
    "choices": null,
    "special": null,
    "scope": "server",
    "help": "UDP port the bridge listens on"
  },
  "reply_port": {
    "type": "int",
    "lo": 0,
    "hi": 65535,
    "default": 9001,
    "unit": "",
    "choices": null,
    "special": {
      "0": "reply to the sender's own port"
    },
    "scope": "server",
    "help": "UDP port replies go to unless a client says /jasco/hello"
  }
};
if (typeof module !== "undefined") { module.exports = JASCO_PARAMS; }
