// Minimal OSC 1.0 encoder/decoder for the device tests (i, f, s only; no bundles).
"use strict";

function padded(buf) {
  const pad = (4 - (buf.length % 4)) % 4;
  return Buffer.concat([buf, Buffer.alloc(pad)]);
}

function oscString(str) {
  return padded(Buffer.concat([Buffer.from(String(str), "utf8"), Buffer.alloc(1)]));
}

// args: [{type, value}]
function encode(address, args) {
  const parts = [oscString(address)];
  parts.push(oscString("," + args.map((a) => a.type).join("")));
  for (const a of args) {
    if (a.type === "i") {
      const b = Buffer.alloc(4);
      if (!Number.isInteger(a.value)) throw new Error(`i argument is not an int: ${a.value}`);
      b.writeInt32BE(a.value);
      parts.push(b);
    } else if (a.type === "f") {
      const b = Buffer.alloc(4);
      b.writeFloatBE(a.value);
      parts.push(b);
    } else if (a.type === "s") {
      parts.push(oscString(a.value));
    } else {
      throw new Error(`unsupported OSC type ${a.type}`);
    }
  }
  return Buffer.concat(parts);
}

function readString(buf, offset) {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new Error("unterminated OSC string");
  const str = buf.toString("utf8", offset, end);
  const next = end + 1 + ((4 - ((end + 1 - offset) % 4)) % 4);
  return [str, next];
}

function decode(buf) {
  let [address, off] = readString(buf, 0);
  let tags;
  [tags, off] = readString(buf, off);
  if (tags[0] !== ",") throw new Error("no type tags");
  const args = [];
  for (const t of tags.slice(1)) {
    if (t === "i") { args.push({ type: "i", value: buf.readInt32BE(off) }); off += 4; }
    else if (t === "f") { args.push({ type: "f", value: buf.readFloatBE(off) }); off += 4; }
    else if (t === "d") { args.push({ type: "d", value: buf.readDoubleBE(off) }); off += 8; }
    else if (t === "s") { let s; [s, off] = readString(buf, off); args.push({ type: "s", value: s }); }
    else throw new Error(`unsupported OSC type tag ${t}`);
  }
  return { address, args };
}

// Max's outlet -> [udpsend] typing: a whole-valued number is an int, others float.
function maxAtomsToArgs(atoms) {
  return atoms.map((v) => {
    if (typeof v === "number") return Number.isInteger(v) ? { type: "i", value: v } : { type: "f", value: v };
    return { type: "s", value: String(v) };
  });
}

module.exports = { encode, decode, maxAtomsToArgs };
