// Runs the device JavaScript under Node for the pytest tests.
//
//   node harness.js SCENARIO.json
//
// The scenario names a mock Live set, UI settings, commands, the bridge's UDP port, and when
// to stop. The device talks real UDP: OSC packets go to scenario.bridge_port, replies come to
// the port the device itself chooses (from a free base port the harness finds).
//
// mode "glue": the GENERATED patcher (max_for_live/jasco.maxpat) runs in maxpatch.js with the
//   generated bundle (jasco.js) in its [js]: settings are user actions on the patcher's controls,
//   Live parameters are clamped by type and restored at load, replies pass the patcher's
//   [udpreceive] -> [deferlow] -> [js] path. Outlet 0 atoms are typed as Max's [udpsend] types
//   them (whole numbers become i). "reload" saves the parameters, deletes the device and loads a
//   new one from what was saved (as saving and reopening the set does).
// mode "core": jasco_core.js driven directly; messages keep the exact OSC types the core
//   declares; replies reach it in arrival order.
//
// Prints one JSON object on stdout: sent packets (with sizes), UI output, status history,
// replies handled and the mock set's snapshot.
"use strict";

const dgram = require("dgram");
const fs = require("fs");
const path = require("path");
const { MockLive } = require("./mock_live");
const { Scheduler, Network, PatchInstance } = require("./maxpatch");

const DEVICE_DIR = path.resolve(__dirname, "..", "..", "..", "max_for_live");
const PATCHER = path.join(DEVICE_DIR, "jasco.maxpat");
const BUNDLE = path.join(DEVICE_DIR, "jasco.js");
const COMMANDS = new Set(["generate", "cancel", "refresh", "recall"]);

async function freePort() {
  const s = dgram.createSocket("udp4");
  await new Promise((res) => s.bind(0, "127.0.0.1", res));
  const port = s.address().port;
  await new Promise((res) => s.close(res));
  return port;
}

function lcg(seed) {
  let x = seed >>> 0;
  return () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 4294967296; };
}

async function main() {
  const scenario = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const mock = new MockLive({ ...scenario.live, devices: scenario.instances || 1 });
  const result = { sent: [], ui: [], status: [], replies: [], errors: [], results: [], instances: [] };
  const scheduler = new Scheduler();
  const maxConsole = [];                 // what Max itself printed (a port it could not bind)
  const network = new Network(maxConsole);
  const bridgePort = scenario.bridge_port;
  const basePort = scenario.reply_port || await freePort();
  const post = (s) => process.stderr.write(s);
  let terminalSeen = 0;
  let wake = () => {};
  const terminal = new Set(["/jasco/done", "/jasco/error", "/jasco/cancelled"]);

  function onUi(state, atoms) {
    state.ui.push(atoms);
    if (atoms[0] === "status") state.status.push(atoms.slice(2).join(" "));
  }

  // A reply reached the device (in the order the device handles it).
  function replied(state, m, handle) {
    if (m.address === "/jasco/probe") { handle(); return; }
    result.replies.push(m);
    try { handle(); } catch (e) { result.errors.push(`${m.address}: ${e.stack || e}`); }
    const globalError = m.address === "/jasco/error" && m.args.length && m.args[0].value === "";
    if (terminal.has(m.address) && (!globalError || scenario.global_errors_terminal)) terminalSeen += 1;
    if (scenario.on_reply && scenario.on_reply[m.address]) {
      for (const [name, ...args] of scenario.on_reply[m.address]) state.command(name, args);
    }
    wake();
  }

  // Live's turns: what Live applies after a script's turn (warping) takes effect between them
  const liveTurns = setInterval(() => scheduler.tail(() => mock.settle()), 20);
  liveTurns.unref();
  const instances = [];
  if (scenario.mode === "glue") {
    const patcher = JSON.parse(fs.readFileSync(PATCHER, "utf8")).patcher;
    const stored0 = { "Bridge port": bridgePort, "Reply port": basePort, ...(scenario.stored || {}) };
    const makeInstance = (k, stored) => {
      const state = { ui: [], status: [], stored };
      const inst = new PatchInstance(patcher, { LiveAPI: mock.liveAPIClass(k), scheduler, network, stored, bundle: BUNDLE,
        post });
      // watch what the [route] sends to the display objects, and the replies the [js] handles
      const js = inst.js();
      const outlet = js.outlet;
      js.outlet = (n, atoms) => { if (n === 1) onUi(state, Array.isArray(atoms) ? atoms : [atoms]); outlet(n, atoms); };
      const anything = js.anything;
      js.anything = function () {
        const args = Array.prototype.slice.call(arguments);
        if (js.inlet === 1) {
          replied(state, { address: js.messagename, args: args.map((value) => ({ value })) },
            () => anything.apply(null, args));
        } else {
          anything.apply(null, args);
        }
      };
      state.inst = inst;
      state.command = (name, args) => {
        if (name === "reload") {
          const saved = inst.save();
          inst.unload();
          result.saved = saved;
          const next = makeInstance(k, saved);
          instances[k] = next;
          next.inst.load();
          return;
        }
        if (name === "init") return;            // live.thisdevice does it at load
        if (name === "advance_clock") throw new Error("advance_clock needs mode core");
        if (COMMANDS.has(name)) state.inst.user(name, []);
        else state.inst.user(name, args);
      };
      state.device = () => state.inst.js().jascoDevice;
      return state;
    };
    for (let k = 0; k < (scenario.instances || 1); k++) instances.push(makeInstance(k, { ...stored0 }));
    for (const st of instances) st.inst.load();
  } else {
    const core = require(path.join(DEVICE_DIR, "jasco_core.js"));
    let fakeNow = 0;
    const state = { ui: [], status: [] };
    const sendTo = { host: "127.0.0.1", port: bridgePort };
    const probe = { host: "127.0.0.1", port: 0 };
    let holder = null;
    const d = core.createDevice({
      live: core.makeLiveAdapter(mock.liveAPIClass(0)),
      send: (m) => network.send(sendTo.host, sendTo.port, m.address, m.args),
      ui: (...atoms) => {
        onUi(state, atoms);
        const [sel, a, b] = atoms;
        if (sel === "udpsend") sendTo[a] = b;
        else if (sel === "udpreceive" && a === "port") {
          holder = network.listen(holder, b, (m) => scheduler.tail(() =>
            replied(state, m, () => {
              const r = d.handleReply(m.address, m.args.map((x) => x.value));
              if (m.address !== "/jasco/probe") result.results.push(r);
            })),
          "udpreceive");
        } else if (sel === "probe") {
          if (a === "port") probe.port = b;
          else network.send(probe.host, probe.port, a, [{ type: "s", value: b }]);
        }
      },
      now: scenario.fake_clock ? () => fakeNow : undefined,
      random: lcg(scenario.random_seed || 7),
      maxBytes: scenario.max_bytes,
      notesPerPacket: scenario.notes_per_packet,
    });
    state.command = (name, args) => {
      if (name === "init") return;               // the harness initialised the device already
      else if (name === "generate") result.results.push(d.generate() ? "sent" : "refused");
      else if (name === "cancel") d.cancel();
      else if (name === "refresh") d.refreshTracks();
      else if (name === "recall") result.results.push(d.recall());
      else if (name === "advance_clock") { mock.settle(); fakeNow += args[0]; result.results.push(d.tick()); }
      else if (name === "live") { mock.song.props[args[0]] = args[1]; }
      else d.setting(name, args);
    };
    state.device = () => d;
    state.close = () => network.close(holder);
    if (!scenario.fake_clock) {
      const timer = setInterval(() => scheduler.tail(() => d.tick()), 100);
      timer.unref();
    }
    d.setting("port", [bridgePort]);
    d.setting("reply_port", [basePort]);
    d.init();
    instances.push(state);
  }

  // the device owns a reply port before the test goes on (its probe came back)
  const portDeadline = Date.now() + 5000;
  while (instances.some((st) => !st.device().replyPort()) && Date.now() < portDeadline) {
    await new Promise((res) => setTimeout(res, 10));
  }
  for (const st of instances) if (!st.device().replyPort()) result.errors.push("the device found no reply port");

  try {
    for (const st of instances) {
      for (const [name, ...args] of scenario.settings || []) st.command(name, args);
    }
    for (const [name, ...args] of scenario.commands || []) {
      if (name === "sleep") { await new Promise((res) => setTimeout(res, args[0])); continue; }
      if (name === "wait_terminal") {
        const until = Date.now() + (scenario.timeout_ms || 5000);
        while (terminalSeen < args[0] && Date.now() < until) await new Promise((res) => { wake = res; setTimeout(res, 50); });
        continue;
      }
      for (let k = 0; k < instances.length; k++) {
        instances[k].command(name, args);
        if (name === "reload") {
          const until = Date.now() + 5000;
          while (!instances[k].device().replyPort() && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
        }
      }
    }
  } catch (e) {
    result.errors.push(`command: ${e.stack || e}`);
  }

  const deadline = Date.now() + (scenario.timeout_ms || 5000);
  const want = scenario.wait_terminal || 0;
  while (terminalSeen < want && Date.now() < deadline) {
    await new Promise((res) => { wake = res; setTimeout(res, 50); });
  }
  await network.ready();
  if (terminalSeen < want) result.errors.push(`timed out waiting for ${want} done/error/cancelled replies`);
  if (scenario.linger_ms) await new Promise((res) => setTimeout(res, scenario.linger_ms));
  await new Promise((res) => setImmediate(res));
  result.sent = network.sent.filter((s) => s.port === bridgePort)
    .map((s) => ({ address: s.address, args: s.args, size: s.size }));
  for (const st of instances) {
    result.instances.push({ ui: st.ui, status: st.status, reply_port: st.device().replyPort(),
      display: st.inst ? st.inst.ui : [] });
    if (st.inst) st.inst.unload();
    if (st.close) st.close();
  }
  result.ui = instances[0].ui;
  result.status = instances[0].status;
  result.reply_port = instances[0].device().replyPort();
  result.base_port = basePort;
  mock.settle();
  clearInterval(liveTurns);
  result.live = mock.snapshot();
  result.max_console = maxConsole;
  await network.shutdown();
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
