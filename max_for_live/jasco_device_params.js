// The device's own settings: what the Live device offers besides the render parameters of
// jasco_params.js (generated from core/params.py). Declared once, here, in the same shape:
// jasco_settings.js takes its limits from this table and make_patcher.py its Live parameters.
// An entry of the same name in jasco_params.js takes precedence (the render parameters the
// device offers, loop and preset among them, are core/params.py's).
var JASCO_DEVICE_PARAMS = {
  "takes": {"type": "int", "lo": 1, "hi": 8, "default": 1, "unit": "", "choices": null, "help": "variations rendered by one press of Generate, each with its own seed, placed in consecutive free slots"},
  "lock_seed": {"type": "int", "lo": 0, "hi": 1, "default": 0, "unit": "", "choices": null, "help": "1: use the seed box for every press (takes count up from it); 0: a fresh random seed for every take"},
  "replace_last": {"type": "int", "lo": 0, "hi": 1, "default": 0, "unit": "", "choices": null, "help": "1: the takes of the next press replace the last press's takes in their slots"},
  "drums_scene": {"type": "int", "lo": 0, "hi": 999, "default": 1, "unit": "", "choices": null, "help": "scene (clip slot) of the drum loop on the drums track; 0 = its Arrangement clip at the insert marker (the playhead while playing)"},
  "target": {"type": "str", "lo": null, "hi": null, "default": "session", "unit": "", "choices": ["session", "arrangement", "folder"], "help": "where finished clips go"},
  "chords": {"type": "str", "lo": null, "hi": null, "default": "selected clip", "unit": "", "choices": ["selected clip", "playing clip", "none"], "help": "where the chords come from"},
  "model_menu": {"type": "str", "lo": null, "hi": null, "default": "server default", "unit": "", "choices": ["server default", "tiny", "facebook/jasco-chords-drums-400M", "facebook/jasco-chords-drums-1B", "facebook/jasco-chords-drums-melody-400M", "facebook/jasco-chords-drums-melody-1B"], "help": "the model to ask the bridge for"}
};
if (typeof module !== "undefined") { module.exports = JASCO_DEVICE_PARAMS; }
