// Runs the device JavaScript under Node for the pytest tests.
//
//   node harness.js SCENARIO.json
//
// The scenario names a mock Live set, UI settings, commands, the bridge's UDP
// port, and when to stop. The device talks real UDP: OSC packets go to
// scenario.bridge_port, replies are read from a socket this harness binds
// (its port becomes the device's reply_port, announced with /jasco/hello).
//
// mode "core": jasco_core.js driven directly; messages keep their exact OSC
//   types (i, f, s) as the core declares them.
// mode "glue": jasco_device.js run in a sandbox that imitates Max's [js]
//   (outlet, inlet, messagename, arrayfromargs, LiveAPI, Task, post, and a
//   Max-style require that gives the module only `exports`); outlet 0 atoms
//   are typed as Max's [udpsend] types them (whole numbers become i).
//
// Prints one JSON object on stdout: sent packets (with sizes), UI output,
// status history, replies handled and the mock set's snapshot.
"use strict";

const dgram = require("dgram");
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const osc = require("./osc");
const { MockLive } = require("./mock_live");

const DEVICE_DIR = path.resolve(__dirname, "..", "..", "..", "max_for_live");

function maxRequire(name) {
  // Max's require(): the module sees `exports` (no `module`), like Max 8's [js].
  const file = path.join(DEVICE_DIR, name.endsWith(".js") ? name : name + ".js");
  const exportsObj = {};
  vm.runInNewContext(fs.readFileSync(file, "utf8"), { exports: exportsObj }, { filename: file });
  return exportsObj;
}

async function main() {
  const scenario = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const mock = new MockLive(scenario.live);
  const LiveAPI = mock.liveAPIClass();
  const result = { sent: [], ui: [], status: [], replies: [], errors: [], results: [] };
  const sock = dgram.createSocket("udp4");
  await new Promise((res) => sock.bind(0, "127.0.0.1", res));
  const replyPort = sock.address().port;
  const host = "127.0.0.1";
  const bridgePort = scenario.bridge_port;

  // Sends go out one after another, in order.
  let chain = Promise.resolve();
  function sendPacket(address, args) {
    const buf = osc.encode(address, args);
    result.sent.push({ address, args, size: buf.length });
    chain = chain.then(() => new Promise((res, rej) =>
      sock.send(buf, bridgePort, host, (err) => (err ? rej(err) : res()))));
  }
  function onUi(atoms) {
    result.ui.push(atoms);
    if (atoms[0] === "status") result.status.push(atoms.slice(2).join(" "));
  }

  let device;     // {command(name, args), reply(address, args)}
  if (scenario.mode === "glue") {
    const tasks = [];
    const sandbox = {
      LiveAPI,
      post: (s) => process.stderr.write(`[max post] ${s}`),
      setinletassist: () => {}, setoutletassist: () => {},
      arrayfromargs: (args) => Array.prototype.slice.call(args),
      require: maxRequire,
      Task: class Task {
        constructor(fn, ctx) { this.fn = fn; this.ctx = ctx; this.interval = 1000; this.timer = null; tasks.push(this); }
        repeat() { this.timer = setInterval(() => this.fn.call(this.ctx), this.interval); this.timer.unref(); }
        cancel() { clearInterval(this.timer); }
      },
      outlet: (n, atoms) => {
        atoms = Array.isArray(atoms) ? atoms : [atoms];
        if (n === 0) sendPacket(String(atoms[0]), osc.maxAtomsToArgs(atoms.slice(1)));
        else onUi(atoms);
      },
      inlet: 0, messagename: "",
    };
    const file = path.join(DEVICE_DIR, "jasco_device.js");
    vm.runInNewContext(fs.readFileSync(file, "utf8"), sandbox, { filename: file });
    const call = (inlet, name, args) => {
      sandbox.inlet = inlet;
      sandbox.messagename = name;
      sandbox.anything.apply(null, args);
    };
    device = {
      command: (name, args) => call(0, name, args),
      reply: (address, args) => call(1, address, args),
      stop: () => sandbox.notifydeleted(),
    };
  } else {
    const core = require(path.join(DEVICE_DIR, "jasco_core.js"));
    let fakeNow = 0;
    const d = core.createDevice({
      live: core.makeLiveAdapter(LiveAPI),
      send: (m) => sendPacket(m.address, m.args),
      ui: (...atoms) => onUi(atoms),
      now: scenario.fake_clock ? () => fakeNow : undefined,
      random: () => 0.123456,
      maxBytes: scenario.max_bytes,
      notesPerPacket: scenario.notes_per_packet,
    });
    device = {
      command: (name, args) => {
        if (name === "init") d.init();
        else if (name === "generate") result.results.push(d.generate() ? "sent" : "refused");
        else if (name === "cancel") d.cancel();
        else if (name === "refresh") d.refreshTracks();
        else if (name === "advance_clock") { fakeNow += args[0]; result.results.push(d.tick()); }
        else d.setting(name, args);
      },
      reply: (address, args) => result.results.push(d.handleReply(address, args)),
      stop: () => {},
    };
  }

  // Replies from the bridge (real UDP) go to the device as they arrive.
  const terminal = new Set(["/jasco/done", "/jasco/error", "/jasco/cancelled"]);
  let terminalSeen = 0;
  let wake = () => {};
  sock.on("message", (buf) => {
    let m;
    try { m = osc.decode(buf); } catch (e) { result.errors.push(`undecodable reply: ${e.message}`); return; }
    result.replies.push(m);
    try {
      device.reply(m.address, m.args.map((a) => a.value));
    } catch (e) {
      result.errors.push(`${m.address}: ${e.stack || e}`);
    }
    // An error with job "" is about a message, not a job: it ends the wait only when asked to.
    const globalError = m.address === "/jasco/error" && m.args.length && m.args[0].value === "";
    if (terminal.has(m.address) && (!globalError || scenario.global_errors_terminal)) terminalSeen += 1;
    if (scenario.on_reply && scenario.on_reply[m.address]) {
      for (const [name, ...args] of scenario.on_reply[m.address]) device.command(name, args);
    }
    wake();
  });

  try {
    device.command("bridge_port", [bridgePort]);
    device.command("reply_port", [replyPort]);
    for (const [name, ...args] of scenario.settings || []) device.command(name, args);
    for (const [name, ...args] of scenario.commands || []) device.command(name, args);
  } catch (e) {
    result.errors.push(`command: ${e.stack || e}`);
  }

  const deadline = Date.now() + (scenario.timeout_ms || 5000);
  const want = scenario.wait_terminal || 0;
  while (terminalSeen < want && Date.now() < deadline) {
    await new Promise((res) => { wake = res; setTimeout(res, 50); });
  }
  await chain;
  if (terminalSeen < want) result.errors.push(`timed out waiting for ${want} done/error/cancelled replies`);
  if (scenario.linger_ms) await new Promise((res) => setTimeout(res, scenario.linger_ms));
  device.stop();
  result.reply_port = replyPort;
  result.live = mock.snapshot();
  sock.close();
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
