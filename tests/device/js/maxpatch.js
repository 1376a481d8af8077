// Runs the GENERATED device patcher (max_for_live/jasco.maxpat) the way Max for Live does, for
// the device tests: every box of the file becomes an object with its documented behaviour and
// messages travel along its patch cords. Nothing is wired by hand here, so a cord, a type or an
// object missing from the patcher shows up as a failing test.
//
// Max's threads: [udpreceive] delivers on the scheduler (high-priority) thread. [deferlow]
// "places all incoming messages at the tail of the low priority queue"; [defer] "places high
// priority messages at the front of the low priority queue" (https://docs.cycling74.com/reference/deferlow);
// the classic [js] object runs on the low-priority thread and defers what reaches it at high
// priority the way [defer] does. The low-priority queue is served one message at a time after
// the UDP packets of one event-loop turn have arrived, so a burst of replies keeps its order
// only through [deferlow].
//
// Live parameters: every box with parameter_enable is a Live parameter. Its value is clamped
// by its type (liveParameterValue: Int holds 0..255), restored from the saved set at load
// (then output, before live.thisdevice bangs), and saved by save().
"use strict";

const dgram = require("dgram");
const fs = require("fs");
const vm = require("vm");
const osc = require("./osc");
const { liveParameterValue } = require("./mock_live");

// The low-priority (main thread) queue of one Max.
class Scheduler {
  constructor() {
    this.queue = [];
    this.high = false;       // true while a high-priority event is being delivered
    this.scheduled = false;
  }
  atHigh(fn) {
    const was = this.high;
    this.high = true;
    try { fn(); } finally { this.high = was; }
  }
  tail(fn) { this.queue.push(fn); this.kick(); }
  front(fn) { this.queue.unshift(fn); this.kick(); }
  kick() {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length) this.queue.shift()();
    });
  }
}

// Real UDP for [udpsend]/[udpreceive]: binds and sends happen in the order they were asked for.
class Network {
  constructor(console) {
    this.chain = Promise.resolve();
    this.console = console;
    this.sender = null;
    this.sent = [];             // {host, port, address, args, size}
  }
  later(fn) { this.chain = this.chain.then(fn).catch((e) => this.console.push(`network: ${e.message}`)); }
  async ready() { await this.chain; }
  send(host, port, address, args) {
    const buf = osc.encode(address, args);
    this.sent.push({ host, port, address, args, size: buf.length });
    this.later(async () => {
      if (this.sender === null) {
        this.sender = dgram.createSocket("udp4");
        await new Promise((res) => this.sender.bind(0, "127.0.0.1", res));
      }
      await new Promise((res, rej) => this.sender.send(buf, port, host, (err) => (err ? rej(err) : res())));
    });
  }
  // A socket bound to port (closing `old`); onMessage(decoded) per packet. Resolves to the socket or null.
  listen(old, port, onMessage, who) {
    const holder = { socket: null };
    this.later(async () => {
      if (old && old.socket) {
        const s = old.socket;
        old.socket = null;
        await new Promise((res) => s.close(res));
      }
      const s = dgram.createSocket("udp4");
      s.on("message", (buf) => {
        let m;
        try { m = osc.decode(buf); } catch (e) { this.console.push(`${who}: undecodable packet: ${e.message}`); return; }
        onMessage(m);
      });
      const ok = await new Promise((res) => {
        s.once("error", (e) => { this.console.push(`${who}: cannot bind port ${port}: ${e.code}`); res(false); });
        s.bind(port, "127.0.0.1", () => res(true));
      });
      if (ok) holder.socket = s;
      else s.close();
    });
    return holder;
  }
  close(holder) {
    this.later(async () => {
      if (holder && holder.socket) {
        const s = holder.socket;
        holder.socket = null;
        await new Promise((res) => s.close(res));
      }
    });
  }
  async shutdown() {
    await this.ready();
    if (this.sender) await new Promise((res) => this.sender.close(res));
  }
}

function parameterOf(box) {
  return box.parameter_enable ? box.saved_attribute_attributes.valueof : null;
}

// One instance of the device patcher.
class PatchInstance {
  // opts: {LiveAPI, scheduler, network, stored: {longname: value}, bundle: path, post, console}
  constructor(patcher, opts) {
    this.opts = opts;
    this.objects = new Map();
    this.cords = new Map();       // "id:outlet" -> [[id, inlet]]
    this.ui = [];                 // every message into a display object: [varname, ...atoms]
    this.values = new Map();      // parameter longname -> value
    for (const ln of patcher.lines) {
      const [src, outlet] = ln.patchline.source, [dst, inlet] = ln.patchline.destination;
      const key = `${src}:${outlet}`;
      if (!this.cords.has(key)) this.cords.set(key, []);
      this.cords.get(key).push([dst, inlet]);
    }
    for (const b of patcher.boxes) this.objects.set(b.box.id, this.make(b.box));
  }

  byName(varname) {
    for (const o of this.objects.values()) if (o.box.varname === varname) return o;
    throw new Error(`no object named ${varname} in the patcher`);
  }

  out(id, outlet, atoms) {
    for (const [dst, inlet] of this.cords.get(`${id}:${outlet}`) || []) this.objects.get(dst).receive(inlet, atoms);
  }

  make(box) {
    const self = this;
    const text = box.text || "";
    const words = text.split(/\s+/);
    const o = { box, receive: () => {}, load: () => {} };
    const emit = (outlet, atoms) => self.out(box.id, outlet, atoms);
    const param = parameterOf(box);
    const setParam = (v) => {
      const x = liveParameterValue(param, v);
      self.values.set(param.parameter_longname, x);
      return x;
    };
    const button = box.maxclass === "live.text" && box.mode === 0;   // momentary; mode 1 is a toggle
    if (param && !button) {
      const stored = (self.opts.stored || {})[param.parameter_longname];
      const initial = param.parameter_initial_enable ? param.parameter_initial[0] : (param.parameter_mmin ?? 0);
      const restored = stored !== undefined;
      o.value = setParam(restored ? stored : initial);
      // at load Live restores the saved value (or the initial one) and the object outputs it
      o.load = () => {
        if (param.parameter_type === 3) {
          if (restored) emit(0, Array.isArray(o.value) ? o.value : [o.value]);
        } else if (restored || param.parameter_initial_enable) {
          emit(0, [o.value]);
        }
      };
    }
    const display = (atoms) => self.ui.push([box.varname || box.maxclass].concat(atoms));
    if (box.maxclass === "newobj") {
      const cls = words[0];
      if (cls === "js") {
        o.load = () => {};
        o.sandbox = self.jsSandbox(box);
        o.receive = (inlet, atoms) => {
          const run = () => {
            o.sandbox.inlet = inlet;
            const [name, ...args] = atoms;
            if (name === "bang") o.sandbox.bang();
            else { o.sandbox.messagename = String(name); o.sandbox.anything.apply(null, args); }
          };
          if (self.opts.scheduler.high) self.opts.scheduler.front(run);   // [js] runs on the main thread
          else run();
        };
      } else if (cls === "route") {
        const selectors = words.slice(1);
        o.receive = (inlet, atoms) => {
          const i = selectors.indexOf(String(atoms[0]));
          if (i >= 0) emit(i, atoms.slice(1));
          else emit(selectors.length, atoms);
        };
      } else if (cls === "prepend") {
        o.receive = (inlet, atoms) => emit(0, [words[1]].concat(atoms));
      } else if (cls === "t") {
        o.receive = () => { for (let i = words.length - 2; i >= 0; i--) emit(i, ["bang"]); };
      } else if (cls === "live.thisdevice") {
        o.thisdevice = true;
      } else if (cls === "deferlow") {
        o.receive = (inlet, atoms) => self.opts.scheduler.tail(() => emit(0, atoms));
      } else if (cls === "defer") {
        o.receive = (inlet, atoms) => (self.opts.scheduler.high ? self.opts.scheduler.front(() => emit(0, atoms))
          : emit(0, atoms));
      } else if (cls === "udpsend") {
        o.host = words[1];
        o.port = Number(words[2]);
        o.receive = (inlet, atoms) => {
          const [sel, ...rest] = atoms;
          if (sel === "host") o.host = String(rest[0]);
          else if (sel === "port") o.port = Number(rest[0]);
          else self.opts.network.send(o.host, o.port, String(sel), osc.maxAtomsToArgs(rest));
        };
      } else if (cls === "udpreceive") {
        const deliver = (m) => self.opts.scheduler.atHigh(() => emit(0, [m.address].concat(m.args.map((a) => a.value))));
        o.port = Number(words[1]);
        o.holder = null;
        o.load = () => { o.holder = self.opts.network.listen(null, o.port, deliver, "udpreceive"); };
        o.receive = (inlet, atoms) => {
          if (atoms[0] === "port") {
            o.port = Number(atoms[1]);
            o.holder = self.opts.network.listen(o.holder, o.port, deliver, "udpreceive");
          }
        };
        o.close = () => self.opts.network.close(o.holder);
      } else if (cls === "pattr") {
        o.receive = (inlet, atoms) => { o.value = setParam(atoms); emit(0, atoms); };
      } else if (cls === "==") {
        o.receive = (inlet, atoms) => emit(0, [Number(atoms[0]) === Number(words[1]) ? 1 : 0]);
      } else if (cls === "midiin" || cls === "midiout") {
        // MIDI passes through; not exercised here
      } else {
        throw new Error(`the test runtime does not know [${cls}]`);
      }
    } else if (box.maxclass === "message") {
      o.receive = () => emit(0, text.split(/\s+/));
    } else if (box.maxclass === "textedit") {
      o.text = "";
      o.receive = (inlet, atoms) => {
        if (atoms[0] === "set") { o.text = atoms.slice(1).join(" "); display(atoms); }
        else if (atoms[0] === "bang") emit(0, ["text", o.text]);      // @outputmode 1: one symbol
      };
      o.user = (atoms) => { o.text = atoms.filter((a, i) => !(i === 0 && a === "text")).join(" "); emit(0, ["text", o.text]); };
    } else if (box.maxclass === "umenu") {
      o.items = (box.items || []).slice();
      o.index = 0;
      o.receive = (inlet, atoms) => {
        const [sel, ...rest] = atoms;
        if (sel === "clear") o.items = [];
        else if (sel === "append") o.items.push(rest.join(" "));
        else if (sel === "set") o.index = Number(rest[0]);
        else if (typeof sel === "number") { o.index = sel; emit(0, [sel]); }
        display(atoms);
      };
      o.user = (atoms) => { o.index = Number(atoms[0]); emit(0, [o.index]); };
    } else if (param && button) {
      o.user = () => emit(0, [1]);                                  // a momentary button
    } else if (param) {                                              // live.menu, live.numbox, live.dial, live.toggle
      o.receive = (inlet, atoms) => {
        if (atoms[0] === "set") { o.value = setParam(atoms[1]); display(atoms); }
        else { o.value = setParam(atoms[0]); emit(0, [o.value]); }
      };
      o.user = (atoms) => { o.value = setParam(atoms[0]); emit(0, [o.value]); };
    } else if (box.maxclass === "slider") {
      o.receive = (inlet, atoms) => display(atoms);
    }
    // a UI object takes its box attribute "hidden" as a message (hidden in a locked patcher)
    o.hidden = box.hidden === 1;
    const receive = o.receive;
    o.receive = (inlet, atoms) => {
      if (atoms[0] === "hidden") { o.hidden = Number(atoms[1]) === 1; display(atoms); }
      else receive(inlet, atoms);
    };
    return o;
  }

  jsSandbox(box) {
    const self = this;
    const tasks = [];
    const sandbox = {
      LiveAPI: self.opts.LiveAPI,
      post: (s) => self.opts.post(`[max post] ${s}`),
      setinletassist: () => {}, setoutletassist: () => {},
      arrayfromargs: (args) => Array.prototype.slice.call(args),
      Task: class Task {
        constructor(fn, ctx) { this.fn = fn; this.ctx = ctx; this.interval = 1000; this.timer = null; tasks.push(this); }
        repeat() {
          this.timer = setInterval(() => self.opts.scheduler.tail(() => this.fn.call(this.ctx)), this.interval);
          this.timer.unref();
        }
        cancel() { clearInterval(this.timer); }
      },
      outlet: (n, atoms) => self.out(box.id, n, Array.isArray(atoms) ? atoms : [atoms]),
      inlet: 0, messagename: "",
    };
    const file = self.opts.bundle;
    vm.runInNewContext(fs.readFileSync(file, "utf8"), sandbox, { filename: file });
    return sandbox;
  }

  // Load: parameters restored and output, [udpreceive] bound, then live.thisdevice bangs.
  load() {
    for (const o of this.objects.values()) if (!o.thisdevice) o.load();
    for (const o of this.objects.values()) if (o.thisdevice) this.out(o.box.id, 0, ["bang"]);
  }

  // The user changes a control (by its scripting name) or presses a button.
  user(varname, atoms) {
    const o = this.byName(varname);
    if (!o.user) throw new Error(`${varname} is not a control`);
    o.user(atoms);
  }

  js() {
    for (const o of this.objects.values()) if (o.sandbox) return o.sandbox;
    throw new Error("no [js] in the patcher");
  }

  // What Live saves with the set (and in a preset): every stored parameter's value.
  save() {
    const out = {};
    for (const o of this.objects.values()) {
      const param = parameterOf(o.box);
      if (param && (param.parameter_invisible ?? 0) !== 2) out[param.parameter_longname] = this.values.get(param.parameter_longname);
    }
    return out;
  }

  unload() {
    for (const o of this.objects.values()) {
      if (o.sandbox) o.sandbox.notifydeleted();
      if (o.close) o.close();
    }
  }
}

module.exports = { Scheduler, Network, PatchInstance };
