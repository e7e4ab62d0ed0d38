// Tests of the AssemblyScript SDK with Node's test runner (`make as-test`):
// the committed modules' imports, the toolchain flags that keep
// AssemblyScript's own imports out, and the test guest driven by a small
// heksher_v1 host written here, including hostile event payloads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const guestPath = join(here, "..", "testdata", "guest.wasm");
const pluginPath = join(root, "examples", "wasm-assemblyscript", "plugin.wasm");

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---- the ABI's encodings (docs/ABI.md §5)
class W {
  constructor() { this.b = []; }
  u8(v) { this.b.push(v & 0xff); return this; }
  u32(v) { for (let i = 0; i < 4; i++) this.b.push((v >>> (8 * i)) & 0xff); return this; }
  u64(v) { v = BigInt.asUintN(64, BigInt(v)); for (let i = 0n; i < 8n; i++) this.b.push(Number((v >> (8n * i)) & 0xffn)); return this; }
  str(s) { const e = enc.encode(s); this.u32(e.length); this.b.push(...e); return this; }
  pairs(ps) { this.u32(ps.length); for (const [k, v] of ps) this.str(k).str(v); return this; }
  bytes() { return Uint8Array.from(this.b); }
}

function header(w, kind, seq, dropped = 0) {
  return w.u32(kind).u32(1).u64(seq).u64(dropped).u64(seq).u64(0);
}

function ruleset(w, { retrieved = true, def = null, rules = [] }) {
  w.u8(retrieved ? 1 : 0).u8(def === null ? 0 : 1).str(def ?? "").u32(rules.length);
  for (const r of rules) w.u64(r.id).pairs(r.conds ?? []).str(r.value);
  return w;
}

function settingChanged(setting, seq = 1) {
  const w = header(new W(), 4, seq).str(setting);
  ruleset(w, { rules: [{ id: 1, value: "1" }] });
  ruleset(w, { def: "5", rules: [{ id: 2, conds: [["env", "prod"]], value: "2" }, { id: 3, conds: [["env", "dev"], ["user", "ann"]], value: "3" }] });
  return w.bytes();
}

// contextEnv returns the env feature's value in an encoded context (§5.2).
function contextEnv(ctx) {
  let env = "";
  if (ctx.length > 0) {
    const n = ctx.readUInt32LE(0);
    let o = 4;
    for (let i = 0; i < n; i++) {
      const kl = ctx.readUInt32LE(o); const k = ctx.subarray(o + 4, o + 4 + kl).toString(); o += 4 + kl;
      const vl = ctx.readUInt32LE(o); const v = ctx.subarray(o + 4, o + 4 + vl).toString(); o += 4 + vl;
      if (k === "env") env = v;
    }
  }
  return env;
}

// ---- a heksher_v1 host
function makeHost(values) {
  const h = { origin: 1, logs: [], declarations: [], subscribed: null, error: "", lookups: 0, mem: null, reason: "",
    selection: [], flags: 0, closingReason: 0 };
  const m = () => new Uint8Array(h.mem.buffer);
  const str = (p, n) => dec.decode(m().subarray(p, p + n));
  h.imports = {
    heksher_v1: {
      get_setting(np, nl, cp, cl, bp, bc) {
        h.lookups++;
        const name = str(np, nl);
        const env = contextEnv(Buffer.from(m().subarray(cp, cp + cl)));
        const byEnv = values[name];
        if (!byEnv) { h.reason = `get_setting "${name}": no such setting in the test host`; return -1; }
        const v = enc.encode(byEnv[env] ?? byEnv[""]);
        if (v.length <= bc) m().set(v, bp);
        return v.length;
      },
      // get_setting_info as docs/ABI.md §5.5 says: a rule (id 7, on env)
      // when the context's env has a value, else the server's default;
      // the origin is h.origin.
      get_setting_info(np, nl, cp, cl, bp, bc) {
        if (h.badAnswer) {
          if (h.badAnswer.length <= bc) m().set(h.badAnswer, bp);
          return h.badAnswer.length;
        }
        const name = str(np, nl);
        const byEnv = values[name];
        if (!byEnv) { h.reason = `get_setting_info "${name}": no such setting in the test host`; return -1; }
        const env = contextEnv(Buffer.from(m().subarray(cp, cp + cl)));
        const rule = byEnv[env] !== undefined && env !== "";
        const w = new W().u8(rule ? 1 : 2).u8(h.origin).u64(rule ? 7 : 0).pairs(rule ? [["env", env]] : []).str(byEnv[rule ? env : ""]);
        const a = w.bytes();
        if (a.length <= bc) m().set(a, bp);
        return a.length;
      },
      set_error(p, n) { h.error = str(p, n); },
      log(level, p, n) { h.logs.push(`${level} ${str(p, n)}`); },
      log_enabled() { return 1; },
      declare(p, n) {
        const b = Buffer.from(m().subarray(p, p + n));
        let o = 0;
        const s = () => { const l = b.readUInt32LE(o); const v = b.subarray(o + 4, o + 4 + l).toString(); o += 4 + l; return v; };
        const name = s(), type = s();
        const nf = b.readUInt32LE(o); o += 4;
        const features = []; for (let i = 0; i < nf; i++) features.push(s());
        const def = s(); s(); s();
        if (name === "" || type === "") { h.reason = "declare: the setting's name is empty"; return -5; }
        h.declarations.push({ name, type, features, def });
        return 0;
      },
      subscribe(kinds) { h.subscribed = kinds; return 0; },
      // subscribe_setting and event_info as docs/ABI.md §3 says.
      subscribe_setting(p, n) { h.selection.push(str(p, n)); return 0; },
      event_info(what) { return what === 1 ? h.flags : what === 2 ? h.closingReason : -5; },
      // last_error as docs/ABI.md §3 says: the length, the bytes only if
      // they fit, INVALID_MEMORY for a range outside memory.
      last_error(bp, bc) {
        if (bp + bc > h.mem.buffer.byteLength) return -4;
        const r = enc.encode(h.reason);
        if (r.length <= bc) m().set(r, bp);
        return r.length;
      },
    },
    wasi_snapshot_preview1: {
      random_get(p, n) { m().fill(7, p, p + n); return 0; },
    },
  };
  return h;
}

async function load(path, config, values = { answer: { "": "42", prod: "43" } }, origin = 1) {
  const h = makeHost(values);
  h.origin = origin;
  const { instance } = await WebAssembly.instantiate(readFileSync(path), h.imports);
  const x = instance.exports;
  h.mem = x.memory;
  x._initialize();
  h.buf = x.heksher_alloc(4096);
  assert.notEqual(h.buf, 0);
  const cfg = enc.encode(config);
  new Uint8Array(h.mem.buffer).set(cfg, h.buf);
  h.initStatus = x.heksher_init(h.buf, cfg.length);
  h.x = x;
  h.send = (exp, payload) => {
    h.error = "";
    // The rest of the buffer is garbage (0xff): a decoder that reads past
    // the payload's end finds huge lengths there and runs out of memory.
    const mem = new Uint8Array(h.mem.buffer);
    mem.fill(0xff, h.buf, h.buf + 4096);
    mem.set(payload, h.buf);
    return x[exp](h.buf, payload.length);
  };
  return h;
}

test("the committed modules import only heksher_v1 (and WASI random_get)", () => {
  for (const [path, allowed] of [[pluginPath, []], [guestPath, ["wasi_snapshot_preview1.random_get"]]]) {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(path)));
    for (const i of imports) {
      assert.ok(i.module === "heksher_v1" || allowed.includes(`${i.module}.${i.name}`), `${path} imports ${i.module}.${i.name}`);
    }
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(path))).map((e) => e.name);
    assert.ok(exports.includes("_initialize") && !exports.includes("_start"), `${path}: not a reactor`);
  }
});

test("asconfig.json keeps env.abort out; without it AssemblyScript imports it", async () => {
  const { default: asc } = await import("assemblyscript/asc");
  const dir = mkdtempSync(join(tmpdir(), "as-flags-"));
  try {
    const imports = async (extra) => {
      const out = join(dir, "out.wasm");
      const { error, stderr } = await asc.main([join(root, "examples/wasm-assemblyscript/plugin.ts"), "-o", out, ...extra], { stderr: { write() {} } });
      assert.equal(error, null, String(stderr));
      return WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(out))).map((i) => `${i.module}.${i.name}`);
    };
    process.chdir(root); // asconfig.json's --use paths are relative to the repository root
    assert.ok((await imports(["-O3"])).includes("env.abort"));
    const flagged = await imports(["--config", "sdk/assemblyscript/asconfig.json"]);
    assert.deepEqual(flagged.filter((i) => !i.startsWith("heksher_v1.")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("init declares, subscribes to the kinds with handlers and looks up", async () => {
  const h = await load(guestPath, `{"x":"y"}`);
  assert.equal(h.initStatus, 0, h.error);
  assert.equal(h.subscribed, 0b111110);
  assert.deepEqual(h.declarations, [{ name: "greeting", type: "str", features: ["env"], def: `"hello \\"world\\""` }]);
  assert.ok(h.logs.includes(`0 init: config={"x":"y"} answer=43`), h.logs.join("\n"));

  const ex = await load(pluginPath, `{"env":"dev"}`, { rate_limit: { "": "100", prod: "250" } });
  assert.equal(ex.initStatus, 0, ex.error);
  assert.equal(ex.subscribed, (1 << 3) | (1 << 4) | (1 << 5));
  assert.ok(ex.logs.includes("0 rate_limit at init is 100"), ex.logs.join("\n"));
});

test("init failures: the guest's message, and a malformed declaration", async () => {
  const a = await load(guestPath, "fail");
  assert.equal(a.initStatus, 1);
  assert.equal(a.error, "init refused: fail");
  const b = await load(guestPath, "baddecl");
  assert.equal(b.initStatus, 1);
  assert.equal(b.error, "declare : malformed payload: declare: the setting's name is empty");
});

test("a setting_changed event is decoded in full", async () => {
  const h = await load(guestPath, "");
  assert.equal(h.send("heksher_on_setting_changed", settingChanged("motd", 9)), 0, h.error);
  assert.equal(h.logs.at(-1), "0 changed motd seq=9 dropped=0 old: retrieved default= #1[]=1 new: retrieved default=5 #2[env=prod]=2 #3[env=dev,user=ann]=3 cursor: #2[env=prod]=2 #3[env=dev,user=ann]=3");
  assert.equal(h.x.json_string_ok(), 1);
});

test("hostile payloads: every truncation, a wrong kind and huge counts are errors, never traps", async () => {
  const h = await load(guestPath, "");
  const full = settingChanged("motd");
  for (let n = 0; n < full.length; n++) {
    assert.equal(h.send("heksher_on_setting_changed", full.subarray(0, n)), 1, `truncated at ${n}`);
    assert.equal(h.error, "malformed event payload");
  }
  const extra = Uint8Array.from([...full, 0]);
  assert.equal(h.send("heksher_on_setting_changed", extra), 1, "trailing byte");
  assert.equal(h.send("heksher_on_update_error", full), 1, "kind mismatch");
  // A rule count of 2^32-1 with nothing behind it.
  const huge = header(new W(), 4, 1).str("motd").u8(1).u8(0).str("").u32(0xffffffff).bytes();
  assert.equal(h.send("heksher_on_setting_changed", huge), 1);
  const hugeChanged = header(new W(), 2, 1).u8(0).str("").u64(0).u32(0xffffffff).bytes();
  assert.equal(h.send("heksher_on_update_ok", hugeChanged), 1);
  const badBool = header(new W(), 4, 1).str("motd").u8(2).u8(0).str("").u32(0).bytes();
  assert.equal(h.send("heksher_on_setting_changed", badBool), 1);
  // The instance still works.
  assert.equal(h.send("heksher_on_setting_changed", settingChanged("noop")), 0);
});

test("update_error, closing and the example's behaviours", async () => {
  const ex = await load(pluginPath, "null", { rate_limit: { "": "100", prod: "250" } });
  const ue = header(new W(), 3, 2).str("connection refused").u32(4).u64(0).u64(0).bytes();
  assert.equal(ex.send("heksher_on_update_error", ue), 0, ex.error);
  assert.equal(ex.logs.at(-1), "8 heksher update failed (4 in a row): connection refused");
  assert.equal(ex.send("heksher_on_setting_changed", settingChanged("feature_x", 3)), 0, ex.error);
  assert.equal(ex.logs.at(-1), "0 setting feature_x changed: rules 1 -> 2; rate_limit is 250");
  assert.equal(ex.send("heksher_on_closing", header(new W(), 5, 4).bytes()), 0, ex.error);
  assert.equal(ex.logs.at(-1), "0 goodbye");
  // A lookup that fails is the handler's error, naming the setting.
  const lost = await load(pluginPath, "null", {});
  assert.equal(lost.send("heksher_on_setting_changed", settingChanged("x")), 1);
  assert.equal(lost.error, `rate_limit: setting not found: get_setting "rate_limit": no such setting in the test host`);
});

test("a failed lookup's error carries the host's reason (last_error)", async () => {
  const h = await load(guestPath, "");
  assert.equal(h.send("heksher_on_setting_changed", settingChanged("reasons")), 0, h.error);
  assert.equal(h.logs.at(-1), `0 reasons: missing: get_setting "missing": no such setting in the test host; answer: ok`);
});

test("settings selection, start-up and unreadable marks, closing reasons (subscribe_setting, event_info)", async () => {
  const h = await load(guestPath, "");
  assert.equal(h.initStatus, 0, h.error);
  assert.deepEqual(h.selection, [""], "the SDK selects its declarations only");
  const all = await load(guestPath, "all");
  assert.equal(all.initStatus, 0, all.error);
  assert.deepEqual(all.selection, ["*", ""]);

  const marks = (retrieved) => {
    const w = header(new W(), 4, 1).str("marks");
    ruleset(w, { retrieved });
    ruleset(w, { def: "5" });
    return w.bytes();
  };
  assert.equal(h.send("heksher_on_setting_changed", marks(false)), 0, h.error);
  assert.equal(h.logs.at(-1), "0 marks: initial=true unreadable=false");
  h.flags = 2;
  assert.equal(h.send("heksher_on_setting_changed", marks(true)), 0, h.error);
  assert.equal(h.logs.at(-1), "0 marks: initial=false unreadable=true");
  for (const [code, name] of [[0, "shutdown"], [1, "shutdown"], [2, "replaced"], [3, "removed"]]) {
    h.closingReason = code;
    assert.equal(h.send("heksher_on_closing", header(new W(), 5, 4).bytes()), 0, h.error);
    assert.equal(h.logs.at(-1), `0 closing reason=${name}`);
  }
});

test("typed answers say where the value came from (get_setting_info)", async () => {
  const values = { answer: { "": "42", prod: "43" }, enabled: { "": "true" }, greeting: { "": `"hi"`, prod: `"hello \\"prod\\""` },
    big: { "": `"${"x".repeat(1000)}"` } };
  const h = await load(guestPath, "", values);
  assert.equal(h.initStatus, 0, h.error);
  h.origin = 2;
  assert.equal(h.send("heksher_on_setting_changed", settingChanged("answers")), 0, h.error);
  assert.equal(h.logs.at(-1), "0 answers: answer=43 source=rule origin=snapshot rule=7 [env=prod]; ratio=43.0; " +
    "enabled=true source=server_default origin=snapshot rule=0 []; greeting=hello \"prod\" source=rule origin=snapshot rule=7 [env=prod]; " +
    `missing=-1 source=unknown origin=unknown rule=0 [] (missing: setting not found: get_setting_info "missing": no such setting in the test host); big=1002`);

  // At init, with each origin; the example does not import get_setting_info.
  for (const [code, name] of [[1, "service"], [2, "snapshot"], [3, "defaults"]]) {
    const g = await load(guestPath, "origin", { rate_limit: { "": "100", prod: "250" } }, code);
    assert.equal(g.initStatus, 0, g.error);
    assert.ok(g.logs.includes(`0 origin: rate_limit=250 source=rule origin=${name} rule=7 [env=prod]`), g.logs.join("\n"));
  }
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(pluginPath))).map((i) => i.name);
  assert.ok(!imports.includes("get_setting_info"), "the example imports get_setting_info");
});

test("a lookup answer that does not decode is an error, never a trap", async () => {
  const h = await load(guestPath, "", { answer: { "": "42" } });
  for (const bad of [new W().u8(1).bytes(), new W().u8(1).u8(1).u64(7).u32(0xffffffff).bytes(),
    Uint8Array.from([...new W().u8(1).u8(1).u64(7).pairs([]).str("42").bytes(), 0])]) {
    h.badAnswer = bad;
    assert.equal(h.send("heksher_on_setting_changed", settingChanged("answers")), 0, h.error);
    const line = h.logs.at(-1);
    assert.ok(line.startsWith("0 answers: answer=-1 source=unknown origin=unknown rule=0 []; "), line);
    assert.ok(line.includes(`(missing: host call failed: get_setting_info "missing": the host's answer does not decode (docs/ABI.md §5.5))`), line);
  }
});
