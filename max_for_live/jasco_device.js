// jasco_device.js: Max glue for the JASCO device.
//
// ES5 for Max 8's classic [js] object (runs unchanged in Max 9's [v8]). This
// file is the last part of jasco.js, the one bundle the device's [js] loads
// (make_patcher.py writes it: the tables and jasco_core.js, then this file),
// so freezing the device embeds everything. All logic lives in jasco_core.js;
// this file only connects it to Max:
//   inlet 0  <- settings and commands from the UI: "prompt ...", "steps 16",
//               "generate", "cancel", "refresh", "recall", "init" (from
//               live.thisdevice), "state ..." (the saved state, from [pattr])
//   inlet 1  <- OSC replies from [udpreceive] through [deferlow] (in order,
//               on the main thread)
//   outlet 0 -> OSC messages to [udpsend 127.0.0.1 <port>] (address first)
//   outlet 1 -> display messages for the patcher's [route]
// Max's JS cannot open sockets, so UDP goes through [udpsend]/[udpreceive].
// Note: Max outputs a whole-valued JS number as an int, so a float such as a
// tempo of 120.0 leaves [udpsend] with type tag i; the bridge accepts ints
// where it expects floats.

autowatch = 1;
inlets = 2;
outlets = 2;
setinletassist(0, "settings and commands: prompt, model, steps, ..., generate, cancel, init, state");
setinletassist(1, "OSC replies from [udpreceive] (through [deferlow])");
setoutletassist(0, "OSC messages to [udpsend]");
setoutletassist(1, "display: status, progress, path, track menus, ports, state");

var jascoCore = jascoModules.jasco_core;
var jascoTicker = null;
var jascoTracksObserver = null;

var jascoDevice = jascoCore.createDevice({
    live: jascoCore.makeLiveAdapter(LiveAPI),
    send: function (m) {
        var atoms = [m.address], i;
        for (i = 0; i < m.args.length; i++) {
            atoms.push(m.args[i].value);
        }
        outlet(0, atoms);
    },
    ui: function () {
        var atoms = [], i;
        for (i = 0; i < arguments.length; i++) {
            atoms.push(arguments[i]);
        }
        outlet(1, atoms);
    }
});

// Run fn; an exception (a Live API surprise, a bug) goes to the status line and
// the Max console instead of leaving the device silent. Used for every entry
// point Max calls: messages, the tracks observer, the timer.
function jascoGuarded(what, fn) {
    try {
        fn();
    } catch (e) {
        outlet(1, ["status", "set", "Device error: " + (e.message || e)]);
        post("jasco: " + what + ": " + (e.message || e) + "\n");
    }
}

function jascoInit() {
    // Live's API is only usable once live.thisdevice has banged.
    jascoDevice.init();
    if (jascoTracksObserver === null) {
        jascoTracksObserver = new LiveAPI(function (args) {
            if (args && args[0] === "tracks") {
                jascoGuarded("tracks changed", jascoDevice.refreshTracks);
            }
        }, "live_set");
        jascoTracksObserver.property = "tracks";
    }
    if (jascoTicker === null) {
        jascoTicker = new Task(function () {
            jascoGuarded("tick", jascoDevice.tick);
        }, this);
        jascoTicker.interval = 250;
        jascoTicker.repeat();
    }
}

function jascoCommand(name, args) {
    if (name === "init") {
        jascoInit();
    } else if (name === "generate") {
        jascoDevice.generate();
    } else if (name === "cancel") {
        jascoDevice.cancel();
    } else if (name === "refresh") {
        jascoDevice.refreshTracks();
    } else if (name === "recall") {
        jascoDevice.recall();
    } else if (name === "hello") {
        jascoDevice.hello();
    } else {
        jascoDevice.setting(name, args);
    }
}

function anything() {
    var args = arrayfromargs(arguments);
    var name = messagename;
    if (inlet === 1) {
        jascoGuarded(name, function () {
            jascoDevice.handleReply(name, args);
        });
    } else {
        jascoGuarded(name, function () {
            jascoCommand(name, args);
        });
    }
}

function bang() {
    post("jasco: send a command (generate, cancel, ...) or a setting, not a bang\n");
}

function notifydeleted() {
    if (jascoTicker !== null) {
        jascoTicker.cancel();
        jascoTicker = null;
    }
    if (jascoTracksObserver !== null) {
        jascoTracksObserver.property = "";   // stop observing the deleted device's set
        jascoTracksObserver = null;
    }
}
