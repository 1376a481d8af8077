// jasco_settings.js: the device's settings, built from the two parameter tables:
// jasco_params.js (generated from core/params.py) and jasco_device_params.js (the device's own).
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions, no template
// strings, no classes. Part of jasco.js, the bundle make_patcher.py writes; Node loads it
// with require() in the tests.

var JASCO_PARAMS = require("./jasco_params");
var JASCO_DEVICE_PARAMS = require("./jasco_device_params");

var JASCO_WIRE = require("./jasco_wire");

// the bridge's limit (bridge/protocol.py): a longer prompt is refused here, with a message
var MAX_PROMPT_CHARS = JASCO_WIRE.max_prompt_chars;
// Max 8 messages and Live parameters hold numbers as 32-bit floats: every whole number up to
// 2^24 survives them, 2^24 + 1 does not. Random seeds are drawn below it (as the bridge's are:
// core/params.py MAX_RANDOM_SEED), and the seed box takes no larger seed.
var FLOAT32_EXACT_INT = 16777216;
var MAX_RANDOM_SEED = FLOAT32_EXACT_INT - 1;

// The table entry of a setting: the render parameters first, then the device's own.
function paramSpec(name) {
    if (JASCO_PARAMS.hasOwnProperty(name)) {
        return JASCO_PARAMS[name];
    }
    if (JASCO_DEVICE_PARAMS.hasOwnProperty(name)) {
        return JASCO_DEVICE_PARAMS[name];
    }
    throw new Error("no parameter '" + name + "' in jasco_params.js or jasco_device_params.js");
}

// UI setting -> table entry, where the names differ.
var TABLE_NAME = {model: "model_menu"};

// UI choices: the patcher's live.menu items, in this order (tests compare).
var CHOICES = {
    target: paramSpec("target").choices,
    chords: paramSpec("chords").choices,
    preset: paramSpec("preset").choices,
    solver: paramSpec("solver").choices,
    model: paramSpec("model_menu").choices
};

// Device settings: name -> [kind, default, min, max] (kind: i int, f float,
// s string, c choice index). Built from the tables; the rest are UI state
// that is not a Live parameter (saved in the device's state blob instead).
var SETTINGS = (function () {
    var out = {
        prompt: ["s", "", 0, MAX_PROMPT_CHARS],
        target_track: ["i", 0, 0, 100000],
        drums_track: ["i", 0, 0, 100000],
        take_choice: ["i", 0, 0, 100000],
        bridge_host: ["s", "127.0.0.1", 1, 255]
    };
    var names = ["model", "preset", "solver", "steps", "cfg_all", "cfg_txt", "seed", "lock_seed", "takes", "replace_last",
                 "bars", "loop", "target", "chords", "drums_scene", "port", "reply_port"];
    var i, spec;
    for (i = 0; i < names.length; i++) {
        spec = paramSpec(TABLE_NAME[names[i]] || names[i]);
        if (spec.choices) {
            out[names[i]] = ["c", spec.choices.indexOf(spec["default"]), 0, spec.choices.length - 1];
        } else if (spec.type === "bool") {
            out[names[i]] = ["i", spec["default"] ? 1 : 0, 0, 1];
        } else if (spec.type === "float") {
            out[names[i]] = ["f", spec["default"], spec.lo, spec.hi];
        } else {
            out[names[i]] = ["i", spec["default"], spec.lo, spec.hi];
        }
    }
    out.seed[3] = Math.min(out.seed[3], FLOAT32_EXACT_INT);
    return out;
})();

// Settings sent with /jasco/set as they are, in this order (bars, loop and model follow,
// then each take's seed). preset is the Quality menu: any preset but none replaces solver and steps.
var RENDER_SETTINGS = ["preset", "solver", "steps", "cfg_all", "cfg_txt"];

module.exports = {
    JASCO_PARAMS: JASCO_PARAMS,
    JASCO_DEVICE_PARAMS: JASCO_DEVICE_PARAMS,
    MAX_PROMPT_CHARS: MAX_PROMPT_CHARS,
    FLOAT32_EXACT_INT: FLOAT32_EXACT_INT,
    MAX_RANDOM_SEED: MAX_RANDOM_SEED,
    paramSpec: paramSpec,
    CHOICES: CHOICES,
    SETTINGS: SETTINGS,
    RENDER_SETTINGS: RENDER_SETTINGS
};
