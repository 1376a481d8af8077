// jasco_util.js: small helpers of the JASCO device (OSC sizes and messages, checks)
// and the Live adapter with its readers.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions, no template
// strings, no classes. Part of jasco.js, the bundle make_patcher.py writes; Node loads it
// with require() in the tests.

var EPS = 1e-6;                    // beats: positions this close are the same

// --- small helpers ----------------------------------------------------------
function utf8Length(str) {
    var n = 0, i, c;
    for (i = 0; i < str.length; i++) {
        c = str.charCodeAt(i);
        if (c < 0x80) {
            n += 1;
        } else if (c < 0x800) {
            n += 2;
        } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
            n += 4;   // surrogate pair: one 4-byte code point
            i += 1;
        } else {
            n += 3;
        }
    }
    return n;
}

function pad4(n) {
    return n + (4 - (n % 4)) % 4;
}

function oscStringSize(str) {
    return pad4(utf8Length(str) + 1);
}

// Exact encoded size in bytes of an OSC message (address, type tags, args).
function oscSize(msg) {
    var size = oscStringSize(msg.address);
    var tags = ",", i, a;
    for (i = 0; i < msg.args.length; i++) {
        tags += msg.args[i].type;
    }
    size += oscStringSize(tags);
    for (i = 0; i < msg.args.length; i++) {
        a = msg.args[i];
        if (a.type === "s") {
            size += oscStringSize(a.value);
        } else {
            size += 4;
        }
    }
    return size;
}

function I(v) { return {type: "i", value: v}; }
function F(v) { return {type: "f", value: v}; }
function S(v) { return {type: "s", value: v}; }

function msg(address, args) {
    return {address: address, args: args || []};
}

function cleanString(v) {
    // OSC strings end at NUL; Max symbols never contain one, other callers might.
    return String(v).replace(/\u0000/g, "");
}

function round6(x) {
    return Math.round(x * 1e6) / 1e6;
}

// Arrays may come from another JS realm (Max's LiveAPI, a test sandbox).
function isArray(v) {
    return Object.prototype.toString.call(v) === "[object Array]";
}

function isNumber(v) {
    return typeof v === "number" && isFinite(v);
}

function DeviceError(message) {
    this.name = "DeviceError";
    this.message = message;
}
DeviceError.prototype = new Error();
DeviceError.prototype.constructor = DeviceError;

function fail(message) {
    throw new DeviceError(message);
}

function versionAtLeast(v, min) {
    var i;
    for (i = 0; i < 3; i++) {
        if (v[i] !== min[i]) {
            return v[i] > min[i];
        }
    }
    return true;
}

// Two spellings of one file's path compare equal: Max's "Volume:/path" form (Cycling '74's
// conformpath reference: https://docs.cycling74.com/reference/conformpath), backslashes,
// doubled slashes, "." and ".." segments, and letter case (the default file systems of macOS
// and Windows ignore it). The bridge sends absolute paths with symlinks resolved; Max's [js]
// cannot resolve a path itself, so the spelling is all that is compared.
function pathKey(p) {
    var s = String(p).replace(/\\/g, "/"), m = /^([^\/:]+):(\/.*)$/.exec(s), parts, out = [], i;
    if (m !== null && !/^[A-Za-z]$/.test(m[1])) {
        s = m[2];          // "Macintosh HD:/Users/me/x.wav" -> "/Users/me/x.wav" (a drive letter stays)
    }
    parts = s.split("/");
    for (i = 0; i < parts.length; i++) {
        if (parts[i] === "." || (parts[i] === "" && i > 0 && i < parts.length)) {
            continue;
        }
        if (parts[i] === ".." && out.length > 1) {
            out.pop();
            continue;
        }
        out.push(parts[i]);
    }
    return out.join("/").toLowerCase();
}

function samePath(a, b) {
    return typeof a === "string" && typeof b === "string" && a !== "" && b !== "" && pathKey(a) === pathKey(b);
}

// --- Live adapter -------------------------------------------------------------
// Wrap a LiveAPI constructor (Max's, or the tests' mock of it) into the small
// path-based interface the core uses. Paths are LOM paths ("live_set tracks 0")
// or "id N". read(path, props) reads several properties of one object through one
// reused LiveAPI object (LiveAPI.goto, Max's LiveAPI reference:
// https://docs.cycling74.com/apiref/js/liveapi/), so reading the whole track list costs
// two objects however many tracks the set has, not five per track.
function makeLiveAdapter(LiveAPICtor) {
    var cursor = null;
    function api(path) {
        return new LiveAPICtor(path);
    }
    function at(path) {
        if (cursor === null || typeof cursor.goto !== "function") {
            cursor = api(path);
        } else {
            cursor.goto(path);
        }
        return cursor;
    }
    function asArray(v) {
        if (v === undefined || v === null) {
            return [];
        }
        return (isArray(v)) ? v : [v];
    }
    return {
        read: function (path, props) {
            var a = at(path), out = {id: parseInt(a.id, 10) || 0}, i;
            for (i = 0; i < props.length; i++) {
                out[props[i]] = out.id ? asArray(a.get(props[i])) : [];
            }
            return out;
        },
        id: function (path) {
            var a = api(path);
            var n = parseInt(a.id, 10);
            return isNaN(n) ? 0 : n;
        },
        get: function (path, prop) {
            var v = api(path).get(prop);
            if (v === undefined || v === null) {
                return [];
            }
            return (isArray(v)) ? v : [v];
        },
        set: function (path, prop, value) {
            api(path).set(prop, value);
        },
        call: function (path, fn, args) {
            var a = api(path);
            return a.call.apply(a, [fn].concat(args || []));
        },
        count: function (path, prop) {
            return api(path).getcount(prop);
        },
        type: function (path) {
            return String(api(path).type);
        }
    };
}

// Read helpers over the adapter's Max-style arrays.
function getNumber(live, path, prop) {
    var v = live.get(path, prop);
    var n = Number(v[0]);
    return isNaN(n) ? 0 : n;
}

function getString(live, path, prop) {
    var v = live.get(path, prop);
    return v.join(" ");
}

// ["id", 3] -> 3 (0 when there is no object).
function getId(live, path, prop) {
    var v = live.get(path, prop);
    if (v.length >= 2 && v[0] === "id") {
        return Number(v[1]) || 0;
    }
    return 0;
}

// ["id", 3, "id", 4] -> [3, 4]
function getIds(live, path, prop) {
    var v = live.get(path, prop), out = [], i;
    for (i = 0; i + 1 < v.length; i += 2) {
        if (v[i] === "id") {
            out.push(Number(v[i + 1]));
        }
    }
    return out;
}

// A call's result as one atom (Max may hand back [12] or 12).
function firstAtom(v) {
    return isArray(v) ? v[0] : v;
}

function liveVersion(live) {
    try {
        return [
            Number(firstAtom(live.call("live_app", "get_major_version", []))) || 0,
            Number(firstAtom(live.call("live_app", "get_minor_version", []))) || 0,
            Number(firstAtom(live.call("live_app", "get_bugfix_version", []))) || 0
        ];
    } catch (e) {
        return [0, 0, 0];
    }
}

function versionString(v) {
    return v[0] + "." + v[1] + "." + v[2];
}

var TRACK_PROPS = ["name", "has_audio_input", "is_foldable", "is_frozen"];

function trackInfo(live, path, index) {
    var r = live.read ? live.read(path, TRACK_PROPS) : {
        id: live.id(path), name: live.get(path, "name"), has_audio_input: live.get(path, "has_audio_input"),
        is_foldable: live.get(path, "is_foldable"), is_frozen: live.get(path, "is_frozen")
    };
    return {
        id: r.id,
        index: index,
        name: r.name.join(" "),
        audio: Number(r.has_audio_input[0]) === 1 && Number(r.is_foldable[0]) === 0,
        frozen: Number(r.is_frozen[0]) === 1
    };
}

// Tracks of the set: [{id, index, name, audio, frozen}], audio = an audio
// track that can hold audio clips (not a group, not MIDI).
function listTracks(live) {
    var ids = getIds(live, "live_set", "tracks"), out = [], i;
    for (i = 0; i < ids.length; i++) {
        out.push(trackInfo(live, "id " + ids[i], i));
    }
    return out;
}

// One track by id (its index is its place in the song's track list), or null.
function findTrack(live, trackId) {
    var index = trackId ? getIds(live, "live_set", "tracks").indexOf(trackId) : -1;
    return index < 0 ? null : trackInfo(live, "id " + trackId, index);
}

module.exports = {
    EPS: EPS,
    DeviceError: DeviceError,
    fail: fail,
    utf8Length: utf8Length,
    oscSize: oscSize,
    I: I,
    F: F,
    S: S,
    msg: msg,
    cleanString: cleanString,
    round6: round6,
    isArray: isArray,
    isNumber: isNumber,
    versionAtLeast: versionAtLeast,
    versionString: versionString,
    makeLiveAdapter: makeLiveAdapter,
    getNumber: getNumber,
    getString: getString,
    getId: getId,
    getIds: getIds,
    liveVersion: liveVersion,
    listTracks: listTracks,
    findTrack: findTrack,
    pathKey: pathKey,
    samePath: samePath
};
