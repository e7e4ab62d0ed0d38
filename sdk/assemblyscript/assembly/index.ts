// The heksher wasm plugin SDK for AssemblyScript (ABI v1, docs/ABI.md).
//
// A plugin's entry file re-exports the ABI's exports and registers its
// handlers at top level:
//
//   export * from "heksher-wasm-sdk/assembly/exports";
//   import { init, onSettingChanged, declareInt, info } from "heksher-wasm-sdk/assembly";
//
// and is compiled with the flags of this package's asconfig.json (a reactor
// with `_initialize`, and abort/trace/seed routed to the host), so that the
// module imports nothing but heksher_v1 (and wasi_snapshot_preview1 for seed).
//
// AssemblyScript has no exceptions: a lookup returns its value, or the
// fallback when it fails, and its handle keeps why (`ok`, `err`, `error()`).
// A handler returns null when it succeeded, or an error message.

import { hostGetSetting, hostGetSettingInfo, hostSetError, hostLog, hostLogEnabled, hostDeclare, hostSubscribe, hostLastError, hostSubscribeSetting, hostEventInfo } from "./host";
import { Reader, Writer, utf8 } from "./codec";

// ---------------------------------------------------------------- logging

/** Log levels: log/slog's numbers. */
export enum Level {
  Debug = -4,
  Info = 0,
  Warn = 4,
  Error = 8,
}

const scratch = new Writer();

/** toScratch encodes s as UTF-8 into the shared scratch buffer. */
function toScratch(s: string): usize {
  const n = <usize>String.UTF8.byteLength(s);
  scratch.reset();
  const at = scratch.reserve(n);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, at);
  return n;
}

/** log sends msg to the host's log, under the plugin's name. */
export function log(level: Level, msg: string): void {
  const n = toScratch(msg);
  hostLog(level, scratch.buf, <i32>n);
}

/** logEnabled reports whether the host keeps messages at level. */
export function logEnabled(level: Level): bool {
  return hostLogEnabled(level) != 0;
}

/** debug logs msg at Level.Debug. */
export function debug(msg: string): void { log(Level.Debug, msg); }
/** info logs msg at Level.Info. */
export function info(msg: string): void { log(Level.Info, msg); }
/** warn logs msg at Level.Warn. */
export function warn(msg: string): void { log(Level.Warn, msg); }
/** error logs msg at Level.Error. */
export function error(msg: string): void { log(Level.Error, msg); }

/** setError attaches msg to the current call's result (ABI set_error). */
export function setError(msg: string): void {
  const n = toScratch(msg);
  hostSetError(scratch.buf, <i32>n);
}

// ---------------------------------------------------------------- errors

/** Err says why a lookup or a declaration failed; the negative values are the ABI's result codes. */
export enum Err {
  None = 0,
  NotFound = -1,
  NotDeclared = -2,
  BadContext = -3,
  InvalidMemory = -4,
  Malformed = -5,
  NotAllowed = -6,
  Internal = -7,
  /** The value is not of the type asked for. */
  Type = -100,
}

// reasonBuf receives the host's reasons, which are at most 1 KiB (ABI
// last_error).
const REASON_MAX = 1024;
const reasonBuf: usize = heap.alloc(REASON_MAX);

/**
 * lastError returns the host's reason for this instance's last failing host
 * call (a lookup, a declaration), such as `get_setting "rate_limit": …`;
 * "" when the host gives none.
 */
export function lastError(): string {
  const n = hostLastError(reasonBuf, REASON_MAX);
  return n > 0 && n <= REASON_MAX ? String.UTF8.decodeUnsafe(reasonBuf, <usize>n) : "";
}

/** errText describes e. */
export function errText(e: Err): string {
  switch (e) {
    case Err.None: return "ok";
    case Err.NotFound: return "setting not found";
    case Err.NotDeclared: return "setting not declared by this plugin";
    case Err.BadContext: return "bad context for setting";
    case Err.InvalidMemory: return "invalid memory range";
    case Err.Malformed: return "malformed payload";
    case Err.NotAllowed: return "only allowed during initialisation";
    case Err.Type: return "setting value has another type";
  }
  return "host call failed";
}

// ---------------------------------------------------------------- contexts

/**
 * Context is an encoded lookup context: feature values a lookup resolves
 * for (the others take the host's context defaults). Build it once and reuse
 * it: a lookup then encodes nothing.
 */
export class Context {
  w: Writer = new Writer();
  n: u32 = 0;

  constructor() {
    this.w.u32(0);
  }

  /** add appends one feature value and returns the context. */
  add(feature: string, value: string): Context {
    this.w.str(feature).str(value);
    this.n++;
    this.w.putU32(0, this.n);
    return this;
  }

  /** len is the number of feature values. */
  get len(): u32 { return this.n; }

  /**
   * fromJSON builds a context from a flat JSON object of strings, such as
   * `{"env":"prod","user":"ann"}`; null when json is not such an object.
   */
  static fromJSON(json: string): Context | null {
    const c = new Context();
    const p = new JSONScanner(json);
    if (!p.punct(0x7b)) return null; // {
    if (p.punct(0x7d)) return p.end() ? c : null; // }
    do {
      const k = p.str();
      if (k === null || !p.punct(0x3a)) return null; // :
      const v = p.str();
      if (v === null) return null;
      c.add(k, v);
    } while (p.punct(0x2c)); // ,
    return p.punct(0x7d) && p.end() ? c : null;
  }
}

/** The empty context: every feature takes the host's default. */
export const EMPTY = new Context();

// ---------------------------------------------------------------- lookups

// lookupBuf receives values; it grows to the largest value seen.
let lookupBuf: usize = heap.alloc(256);
let lookupCap: i32 = 256;

/**
 * Setting is a handle on one setting, with its name encoded once. A lookup
 * answers the value, or the fallback when it fails; `ok` and `err` then say
 * how the last lookup went. Handles of declared settings come from the
 * declare functions; others (when the host lets the plugin read them) from
 * `new IntSetting("name")` and the like.
 */
export class Setting {
  readonly name: string;
  namePtr: usize;
  nameLen: i32;
  /** err is why the last lookup failed, Err.None if it did not. */
  err: Err = Err.None;
  /** reason is the host's explanation of the last lookup's failure ("" if none). */
  reason: string = "";

  constructor(name: string) {
    this.name = name;
    this.namePtr = utf8(name);
    this.nameLen = String.UTF8.byteLength(name);
  }

  /** ok reports whether the last lookup succeeded. */
  get ok(): bool { return this.err == Err.None; }

  /** error describes the last lookup's failure, naming the setting, with the host's reason. */
  error(): string {
    const s = this.name + ": " + errText(this.err);
    return this.reason.length > 0 && this.err != Err.Type ? s + ": " + this.reason : s;
  }

  /** fetch looks the setting up into lookupBuf; the value's length, or -1. */
  fetch(ctx: Context): i32 {
    while (true) {
      const n = hostGetSetting(this.namePtr, this.nameLen, ctx.w.buf, <i32>ctx.w.len, lookupBuf, lookupCap);
      if (n < 0) {
        this.err = <Err>(n < Err.Internal ? Err.Internal : n);
        this.reason = lastError();
        return -1;
      }
      if (n <= lookupCap) {
        this.err = Err.None;
        return n;
      }
      heap.free(lookupBuf); // the value did not fit: grow and ask again
      lookupBuf = heap.alloc(<usize>n);
      lookupCap = n;
    }
    return -1;
  }

  /** json returns the value's wire JSON, or null. */
  json(ctx: Context = EMPTY): string | null {
    const n = this.fetch(ctx);
    return n < 0 ? null : String.UTF8.decodeUnsafe(lookupBuf, <usize>n);
  }

  /**
   * fetchAnswer looks the setting up with get_setting_info into lookupBuf,
   * fills a's source, origin, rule id, conditions and valueJSON, and
   * returns the value's length (at answerValueAt), or -1.
   */
  fetchAnswer(ctx: Context, a: AnswerInfo): i32 {
    while (true) {
      const n = hostGetSettingInfo(this.namePtr, this.nameLen, ctx.w.buf, <i32>ctx.w.len, lookupBuf, lookupCap);
      if (n < 0) {
        this.err = <Err>(n < Err.Internal ? Err.Internal : n);
        this.reason = lastError();
        return -1;
      }
      if (n <= lookupCap) {
        const r = new Reader(lookupBuf, lookupBuf + <usize>n);
        const source = r.u8();
        const origin = r.u8();
        const ruleId = r.i64();
        const conditions = readConditions(r);
        answerValueAt = r.span();
        const len = r.last;
        if (r.bad || r.p != r.end) {
          this.err = Err.Internal;
          this.reason = "get_setting_info \"" + this.name + "\": the host's answer does not decode (docs/ABI.md §5.5)";
          return -1;
        }
        this.err = Err.None;
        a.source = <Source>source;
        a.origin = <Origin>origin;
        a.ruleId = ruleId;
        a.conditions = conditions;
        a.valueJSON = String.UTF8.decodeUnsafe(answerValueAt, len);
        return <i32>len;
      }
      heap.free(lookupBuf); // the answer did not fit: grow and ask again
      lookupBuf = heap.alloc(<usize>n);
      lookupCap = n;
    }
    return -1;
  }

  /**
   * answerJSON looks the setting up for ctx and says where the value came
   * from: its value is the wire JSON ("" when the lookup fails, see `ok`).
   * It needs a host with get_setting_info (docs/ABI.md §3); a module that
   * calls it is refused at load by older hosts.
   */
  answerJSON(ctx: Context = EMPTY): Answer<string> {
    const a = new Answer<string>("");
    if (this.fetchAnswer(ctx, a) >= 0) a.value = a.valueJSON;
    return a;
  }
}

/** Source says whether a rule or a default gave a looked-up value. */
export enum Source {
  /** The lookup failed. */
  Unknown = 0,
  /** A rule matched. */
  Rule = 1,
  /** No rule matched: the server's default. */
  ServerDefault = 2,
  /** No rule matched and no server default: the declared default. */
  LocalDefault = 3,
}

/** Origin says where the rules behind a looked-up value came from. */
export enum Origin {
  /** The host does not say (or the lookup failed). */
  Unknown = 0,
  /** The service's latest answer. */
  Service = 1,
  /** The host's snapshot file, saved from an earlier answer: the service is down. */
  Snapshot = 2,
  /** No rules received for the setting: its declared default. */
  Defaults = 3,
}

/** sourceName returns "rule", "server_default", "local_default" or "unknown". */
export function sourceName(s: Source): string {
  switch (s) {
    case Source.Rule: return "rule";
    case Source.ServerDefault: return "server_default";
    case Source.LocalDefault: return "local_default";
  }
  return "unknown";
}

/** originName returns "service", "snapshot", "defaults" or "unknown". */
export function originName(o: Origin): string {
  switch (o) {
    case Origin.Service: return "service";
    case Origin.Snapshot: return "snapshot";
    case Origin.Defaults: return "defaults";
  }
  return "unknown";
}

/** AnswerInfo is where a looked-up value came from (docs/ABI.md §5.5). */
export class AnswerInfo {
  /** source says whether a rule or a default gave the value. */
  source: Source = Source.Unknown;
  /** origin says whether the rules were the service's, the snapshot's, or none. */
  origin: Origin = Origin.Unknown;
  /** ruleId is the matching rule's id when source is Source.Rule, else 0. */
  ruleId: i64 = 0;
  /** conditions are the matching rule's conditions (empty unless source is Source.Rule). */
  conditions: Condition[] = [];
  /** valueJSON is the value as wire JSON ("" when the lookup failed). */
  valueJSON: string = "";
}

/**
 * Answer is a typed lookup's answer: the value (the fallback when the
 * lookup failed; the setting's `ok`, `err` and `error()` say why) and where
 * it came from.
 */
export class Answer<T> extends AnswerInfo {
  value: T;
  constructor(value: T) {
    super();
    this.value = value;
  }
}

// answerValueAt is where fetchAnswer found the value in lookupBuf.
let answerValueAt: usize = 0;

/** IntSetting reads an int setting. */
export class IntSetting extends Setting {
  /** declareWith declares the setting (during init only) with its configurable features and default, and returns it. */
  declareWith(features: string[], def: i64, version: string = "", metadata: string = ""): IntSetting {
    declareRaw(this.name, "int", features, def.toString(), version, metadata);
    return this;
  }

  /** get returns the value for ctx, or fallback. */
  get(ctx: Context = EMPTY, fallback: i64 = 0): i64 {
    const n = this.fetch(ctx);
    if (n < 0) return fallback;
    const v = parseIntJSON(lookupBuf, n);
    if (intOK) return v;
    this.err = Err.Type;
    return fallback;
  }

  /** answer returns the value for ctx (or fallback) with where it came from (get_setting_info). */
  answer(ctx: Context = EMPTY, fallback: i64 = 0): Answer<i64> {
    const a = new Answer<i64>(fallback);
    const n = this.fetchAnswer(ctx, a);
    if (n < 0) return a;
    const v = parseIntJSON(answerValueAt, n);
    if (intOK) a.value = v;
    else this.err = Err.Type;
    return a;
  }
}

/** FloatSetting reads a float setting (an int value is accepted). */
export class FloatSetting extends Setting {
  /** declareWith declares the setting (during init only) with its configurable features and default, and returns it. */
  declareWith(features: string[], def: f64, version: string = "", metadata: string = ""): FloatSetting {
    declareRaw(this.name, "float", features, def.toString(), version, metadata);
    return this;
  }

  /** get returns the value for ctx, or fallback. */
  get(ctx: Context = EMPTY, fallback: f64 = 0): f64 {
    const n = this.fetch(ctx);
    if (n < 0) return fallback;
    const s = String.UTF8.decodeUnsafe(lookupBuf, <usize>n);
    const v = parseFloat(s);
    const c = n > 0 ? load<u8>(lookupBuf) : 0;
    if (isNaN(v) || !(c == 0x2d || (c >= 0x30 && c <= 0x39))) {
      this.err = Err.Type;
      return fallback;
    }
    return v;
  }

  /** answer returns the value for ctx (or fallback) with where it came from (get_setting_info). */
  answer(ctx: Context = EMPTY, fallback: f64 = 0): Answer<f64> {
    const a = new Answer<f64>(fallback);
    const n = this.fetchAnswer(ctx, a);
    if (n < 0) return a;
    const v = parseFloat(a.valueJSON);
    const c = n > 0 ? load<u8>(answerValueAt) : 0;
    if (isNaN(v) || !(c == 0x2d || (c >= 0x30 && c <= 0x39))) this.err = Err.Type;
    else a.value = v;
    return a;
  }
}

/** BoolSetting reads a bool setting. */
export class BoolSetting extends Setting {
  /** declareWith declares the setting (during init only) with its configurable features and default, and returns it. */
  declareWith(features: string[], def: bool, version: string = "", metadata: string = ""): BoolSetting {
    declareRaw(this.name, "bool", features, def ? "true" : "false", version, metadata);
    return this;
  }

  /** get returns the value for ctx, or fallback. */
  get(ctx: Context = EMPTY, fallback: bool = false): bool {
    const n = this.fetch(ctx);
    if (n < 0) return fallback;
    if (n == 4 && load<u32>(lookupBuf) == 0x65757274) return true; // "true"
    if (n == 5 && load<u32>(lookupBuf) == 0x736c6166 && load<u8>(lookupBuf + 4) == 0x65) return false; // "false"
    this.err = Err.Type;
    return fallback;
  }

  /** answer returns the value for ctx (or fallback) with where it came from (get_setting_info). */
  answer(ctx: Context = EMPTY, fallback: bool = false): Answer<bool> {
    const a = new Answer<bool>(fallback);
    if (this.fetchAnswer(ctx, a) < 0) return a;
    if (a.valueJSON == "true") a.value = true;
    else if (a.valueJSON == "false") a.value = false;
    else this.err = Err.Type;
    return a;
  }
}

/** StringSetting reads a str or Enum setting. */
export class StringSetting extends Setting {
  /** declareWith declares the setting (during init only) with its configurable features and default, and returns it. */
  declareWith(features: string[], def: string, version: string = "", metadata: string = ""): StringSetting {
    declareRaw(this.name, "str", features, quoteJSON(def), version, metadata);
    return this;
  }

  /** get returns the value for ctx, or fallback. */
  get(ctx: Context = EMPTY, fallback: string = ""): string {
    const n = this.fetch(ctx);
    if (n < 0) return fallback;
    const s = new JSONScanner(String.UTF8.decodeUnsafe(lookupBuf, <usize>n)).str();
    if (s === null) {
      this.err = Err.Type;
      return fallback;
    }
    return s;
  }

  /** answer returns the value for ctx (or fallback) with where it came from (get_setting_info). */
  answer(ctx: Context = EMPTY, fallback: string = ""): Answer<string> {
    const a = new Answer<string>(fallback);
    if (this.fetchAnswer(ctx, a) < 0) return a;
    const v = new JSONScanner(a.valueJSON).str();
    if (v === null) this.err = Err.Type;
    else a.value = v;
    return a;
  }
}

let intOK = false;

// parseIntJSON decodes a JSON integer (or an integral float such as 3.0).
function parseIntJSON(p: usize, n: i32): i64 {
  intOK = false;
  let i = 0;
  const neg = n > 0 && load<u8>(p) == 0x2d;
  if (neg) i = 1;
  if (i >= n) return 0;
  let v: u64 = 0;
  for (; i < n; i++) {
    const c = <u32>load<u8>(p + i) - 0x30;
    if (c > 9) break;
    if (v > (<u64>0x7fffffffffffffff + (neg ? 1 : 0) - c) / 10) return 0; // overflow
    v = v * 10 + c;
  }
  if (i < n) {
    const f = parseFloat(String.UTF8.decodeUnsafe(p, <usize>n));
    if (!isFinite(f) || f != Math.trunc(f) || Math.abs(f) > 9.2e18) return 0;
    intOK = true;
    return <i64>f;
  }
  intOK = true;
  return neg ? -<i64>v : <i64>v;
}

// ---------------------------------------------------------------- declarations

let inInit = false;
let declareErr: string | null = null;
const declBuf = new Writer();

/**
 * declare declares a setting of any Heksher type with its default as wire
 * JSON, during init only. A failure fails the plugin's init with a message
 * naming the setting. version "" means "1.0"; metadata "" means {}.
 */
export function declare(name: string, type: string, features: string[], defaultJSON: string, version: string = "", metadata: string = ""): Setting {
  declareRaw(name, type, features, defaultJSON, version, metadata);
  return new Setting(name);
}

function declareRaw(name: string, type: string, features: string[], defaultJSON: string, version: string, metadata: string): void {
  declBuf.reset().str(name).str(type).strs(features).str(defaultJSON).str(version).str(metadata);
  const r = inInit ? hostDeclare(declBuf.buf, <i32>declBuf.len) : Err.NotAllowed;
  if (r != 0 && declareErr === null) {
    const why = inInit ? lastError() : "";
    declareErr = "declare " + name + ": " + errText(<Err>r) + (why.length > 0 ? ": " + why : "");
  }
}

/** ALL_SETTINGS, given to subscribeSetting, selects every setting. */
export const ALL_SETTINGS = "*";

/**
 * subscribeSetting asks, during init only, for the setting_changed events
 * of the named setting besides those the plugin declares (which it always
 * receives); ALL_SETTINGS asks for every setting. Reading it stays capped by
 * the host's grants: an event the plugin may not read arrives with
 * `delivery.unreadable` set. A failure fails the plugin's init.
 */
export function subscribeSetting(name: string): void {
  const n = String.UTF8.byteLength(name);
  const r = inInit ? hostSubscribeSetting(utf8(name), n) : Err.NotAllowed;
  if (r != 0 && declareErr === null) declareErr = "subscribeSetting " + name + ": " + errText(<Err>r);
}

/** declareInt declares an int setting. */
export function declareInt(name: string, features: string[], def: i64, version: string = "", metadata: string = ""): IntSetting {
  return new IntSetting(name).declareWith(features, def, version, metadata);
}

/** declareFloat declares a float setting. */
export function declareFloat(name: string, features: string[], def: f64, version: string = "", metadata: string = ""): FloatSetting {
  return new FloatSetting(name).declareWith(features, def, version, metadata);
}

/** declareBool declares a bool setting. */
export function declareBool(name: string, features: string[], def: bool, version: string = "", metadata: string = ""): BoolSetting {
  return new BoolSetting(name).declareWith(features, def, version, metadata);
}

/** declareString declares a str setting. */
export function declareString(name: string, features: string[], def: string, version: string = "", metadata: string = ""): StringSetting {
  return new StringSetting(name).declareWith(features, def, version, metadata);
}

/** quoteJSON returns s as a JSON string. */
export function quoteJSON(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

// ---------------------------------------------------------------- JSON scanning

// JSONScanner reads the few JSON forms the SDK needs: strings and punctuation.
class JSONScanner {
  i: i32 = 0;
  constructor(public s: string) {}

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.i++;
    }
  }

  punct(c: i32): bool {
    this.ws();
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == c) {
      this.i++;
      return true;
    }
    return false;
  }

  end(): bool {
    this.ws();
    return this.i == this.s.length;
  }

  str(): string | null {
    if (!this.punct(0x22)) return null;
    let out = "";
    let from = this.i;
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c == 0x22) {
        out += this.s.substring(from, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) return null;
      if (c != 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.substring(from, this.i);
      if (this.i + 1 >= this.s.length) return null;
      const e = this.s.charCodeAt(this.i + 1);
      this.i += 2;
      if (e == 0x75) { // \uXXXX; surrogate pairs come as two escapes
        if (this.i + 4 > this.s.length) return null;
        const h = <i32>parseInt(this.s.substr(this.i, 4), 16);
        if (isNaN(<f64>parseInt(this.s.substr(this.i, 4), 16))) return null;
        out += String.fromCharCode(h);
        this.i += 4;
      } else if (e == 0x22 || e == 0x5c || e == 0x2f) out += String.fromCharCode(e);
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else return null;
      from = this.i;
    }
    return null;
  }
}

/** parseJSONString decodes a JSON string value such as `"a\"b"`; null if it is not one. */
export function parseJSONString(json: string): string | null {
  const p = new JSONScanner(json);
  const s = p.str();
  return s !== null && p.end() ? s : null;
}

// ---------------------------------------------------------------- events

/** Delivery says how an event reached the plugin (the event header, §5.3). */
export class Delivery {
  /** seq numbers the plugin's deliveries 1, 2, …; a gap means dropped events. */
  seq: u64 = 0;
  /** dropped counts events dropped from the plugin's queue since the previous delivery. */
  dropped: u64 = 0;
  /** eventSeq is the event's number in the client that emitted it. */
  eventSeq: u64 = 0;
  /** timeUnixNano is when the event happened; 0 if unknown. */
  timeUnixNano: i64 = 0;
  /**
   * unreadable is set on a setting change the plugin may not read (it did
   * not declare the setting and the host grants no undeclared reads): its
   * lookups answer Err.NotDeclared.
   */
  unreadable: bool = false;
  /** reason says why the plugin is closing, on a closing event. */
  reason: ClosingReason = ClosingReason.Shutdown;
}

/** ClosingReason says why the plugin receives its closing event. */
export enum ClosingReason {
  /** The host stops. */
  Shutdown = 0,
  /** A configuration reload replaces the plugin with a new version of it. */
  Replaced = 1,
  /** A configuration reload removed the plugin. */
  Removed = 2,
}

/** Condition is one exact match of a rule: feature = value. */
export class Condition {
  constructor(public feature: string, public value: string) {}
}

/** Rule is one rule of a setting. */
export class Rule {
  id: i64 = 0;
  conditions: Condition[] = [];
  /** valueJSON is the rule's value as wire JSON. */
  valueJSON: string = "";
}

/**
 * RuleSet is a setting's rules and default before or after a change. Its
 * default and rules are decoded on demand, from the event buffer: call them
 * only during the handler.
 */
export class RuleSet {
  /** retrieved is false when the rules were never retrieved (the first update). */
  retrieved: bool = false;
  hasDefault: bool = false;
  /** len is the number of rules. */
  len: u32 = 0;
  defaultAt: usize = 0;
  defaultLen: usize = 0;
  rulesAt: usize = 0;
  end: usize = 0;

  /** defaultJSON is the default as wire JSON, "" when there is none. */
  defaultJSON(): string {
    return this.hasDefault && this.defaultLen > 0 ? String.UTF8.decodeUnsafe(this.defaultAt, this.defaultLen) : "";
  }

  /**
   * cursor returns a cursor over the rules that decodes nothing until asked
   * (no allocation but the cursor): the fast way to inspect every rule.
   */
  cursor(): RuleCursor {
    return new RuleCursor(this.rulesAt, this.end, this.len);
  }

  /** rules decodes the rules into objects. */
  rules(): Rule[] {
    const r = new Reader(this.rulesAt, this.end);
    const out = new Array<Rule>(this.len);
    for (let i: u32 = 0; i < this.len; i++) {
      const rule = new Rule();
      rule.id = r.i64();
      rule.conditions = readConditions(r);
      rule.valueJSON = r.str();
      unchecked(out[i] = rule);
    }
    return out;
  }
}

/**
 * RuleCursor walks a rule set's rules, and each rule's conditions, in the
 * event buffer (valid only during the handler):
 *
 *   const c = e.new.cursor();
 *   while (c.next()) while (c.nextCondition()) info(c.feature() + "=" + c.value());
 */
export class RuleCursor {
  r: Reader;
  left: u32;
  condsLeft: u32 = 0;
  /** id is the current rule's id. */
  id: i64 = 0;
  /** conditions is the current rule's number of conditions. */
  conditions: u32 = 0;
  valueAt: usize = 0;
  /** valueLength is the byte length of the current rule's value (wire JSON). */
  valueLength: usize = 0;
  featureAt: usize = 0;
  /** featureLength is the byte length of the current condition's feature. */
  featureLength: usize = 0;
  condValueAt: usize = 0;
  /** condValueLength is the byte length of the current condition's value. */
  condValueLength: usize = 0;

  constructor(at: usize, end: usize, n: u32) {
    this.r = new Reader(at, end);
    this.left = n;
  }

  /** next moves to the next rule; false when there is none. */
  next(): bool {
    const r = this.r;
    while (this.condsLeft > 0 && !r.bad) this.nextCondition(); // skip the rest
    if (this.left == 0 || r.bad) return false;
    this.left--;
    this.id = r.i64();
    this.conditions = this.condsLeft = r.count(8);
    // The value follows the conditions: find it now, so that it can be read
    // without walking the conditions.
    const save = r.p;
    for (let i: u32 = 0; i < this.conditions; i++) {
      r.span();
      r.span();
    }
    this.valueAt = r.span();
    this.valueLength = r.bad ? 0 : r.last;
    const after = r.p;
    r.p = save;
    this.afterRule = after;
    if (this.conditions == 0) r.p = after;
    return !r.bad;
  }
  afterRule: usize = 0;

  /** nextCondition moves to the current rule's next condition; false when there is none. */
  nextCondition(): bool {
    if (this.condsLeft == 0) return false;
    const r = this.r;
    this.featureAt = r.span();
    this.featureLength = r.last;
    this.condValueAt = r.span();
    this.condValueLength = r.last;
    if (--this.condsLeft == 0) r.p = this.afterRule;
    return !r.bad;
  }

  /** valueJSON decodes the current rule's value. */
  valueJSON(): string { return String.UTF8.decodeUnsafe(this.valueAt, this.valueLength); }
  /** feature decodes the current condition's feature. */
  feature(): string { return String.UTF8.decodeUnsafe(this.featureAt, this.featureLength); }
  /** value decodes the current condition's value. */
  value(): string { return String.UTF8.decodeUnsafe(this.condValueAt, this.condValueLength); }
}

function readConditions(r: Reader): Condition[] {
  const n = r.count(8);
  const out = new Array<Condition>(n);
  for (let i: u32 = 0; i < n; i++) {
    const f = r.str();
    unchecked(out[i] = new Condition(f, r.str()));
  }
  return out;
}

function readRuleSet(r: Reader, rs: RuleSet): void {
  rs.retrieved = r.bool();
  rs.hasDefault = r.bool();
  rs.defaultAt = r.span();
  rs.defaultLen = r.bad ? 0 : r.last;
  rs.len = r.count(16);
  rs.rulesAt = r.p;
  for (let i: u32 = 0; i < rs.len && !r.bad; i++) {
    r.i64();
    r.skipPairs();
    r.span();
  }
  rs.end = r.p;
}

/**
 * SettingChanged: a setting's rules or default changed. The SDK reuses the
 * object (and its rule sets) for the next event: keep only what you copy.
 */
export class SettingChanged {
  setting: string = "";
  old: RuleSet = new RuleSet();
  new: RuleSet = new RuleSet();

  /**
   * initial is true for a start-up change: the old rules were never
   * retrieved, so this carries the first values the host holds for the
   * setting, not a change made on the service. Alerting plugins skip it.
   */
  get initial(): bool { return !this.old.retrieved; }
}

/** UpdateError: an update of the settings failed. */
export class UpdateError {
  message: string = "";
  /** consecutiveFailures counts the failed updates in a row, this one included. */
  consecutiveFailures: u32 = 0;
  /** lastSuccessUnixNano is when an update last succeeded; 0 if never. */
  lastSuccessUnixNano: i64 = 0;
  durationNs: i64 = 0;
}

/** Rejected is a rule or default an update rejected. */
export class Rejected {
  setting: string = "";
  isDefault: bool = false;
  ruleId: i64 = 0;
  conditions: Condition[] = [];
  valueJSON: string = "";
  reason: string = "";
}

/** UpdateOK: an update of the settings succeeded. */
export class UpdateOK {
  notModified: bool = false;
  etag: string = "";
  durationNs: i64 = 0;
  /** changed names the settings that changed. */
  changed: string[] = [];
  rejected: Rejected[] = [];
}

/** Declared: the outcome of a declaration the host made for the plugin. */
export class Declared {
  setting: string = "";
  version: string = "";
  /** outcome is the server's answer ("created", "uptodate", …), "" when the declaration failed. */
  outcome: string = "";
  latestVersion: string = "";
  differencesJSON: string = "";
  tracked: bool = false;
  /** error is set when the declaration failed. */
  error: string = "";
}

// ---------------------------------------------------------------- handlers

let hInit: ((config: string) => string | null) | null = null;
let hDeclared: ((d: Delivery, e: Declared) => string | null) | null = null;
let hUpdateOK: ((d: Delivery, e: UpdateOK) => string | null) | null = null;
let hUpdateError: ((d: Delivery, e: UpdateError) => string | null) | null = null;
let hSettingChanged: ((d: Delivery, e: SettingChanged) => string | null) | null = null;
let hClosing: ((d: Delivery) => string | null) | null = null;

/**
 * init registers the function the host calls once per instance, before any
 * event, with the plugin's config (often JSON; "null" when the daemon has
 * none). Declare settings from it. A returned message fails the load.
 */
export function init(fn: (config: string) => string | null): void { hInit = fn; }
/** onDeclared registers the handler of declared events. */
export function onDeclared(fn: (d: Delivery, e: Declared) => string | null): void { hDeclared = fn; }
/** onUpdateOK registers the handler of successful updates. */
export function onUpdateOK(fn: (d: Delivery, e: UpdateOK) => string | null): void { hUpdateOK = fn; }
/** onUpdateError registers the handler of failed updates. */
export function onUpdateError(fn: (d: Delivery, e: UpdateError) => string | null): void { hUpdateError = fn; }
/** onSettingChanged registers the handler of setting changes. */
export function onSettingChanged(fn: (d: Delivery, e: SettingChanged) => string | null): void { hSettingChanged = fn; }
/** onClosing registers the handler of the client's last event. */
export function onClosing(fn: (d: Delivery) => string | null): void { hClosing = fn; }

const StatusOK = 0;
const StatusError = 1;
const StatusUnsupported = 2;

function status(msg: string | null): i32 {
  if (msg === null) return StatusOK;
  setError(msg);
  return StatusError;
}

/** Runs the init function and subscribes to the kinds that have handlers (heksher_init). */
export function dispatchInit(ptr: usize, len: i32): i32 {
  declareErr = null;
  let msg: string | null = null;
  const fn = hInit;
  if (fn !== null) {
    inInit = true;
    msg = fn(len > 0 ? String.UTF8.decodeUnsafe(ptr, <usize>len) : "");
    inInit = false;
  }
  if (msg === null) msg = declareErr;
  if (msg !== null) return status(msg);
  let mask: u32 = 0;
  if (hDeclared !== null) mask |= 1 << 1;
  if (hUpdateOK !== null) mask |= 1 << 2;
  if (hUpdateError !== null) mask |= 1 << 3;
  if (hSettingChanged !== null) mask |= 1 << 4;
  if (hClosing !== null) mask |= 1 << 5;
  const r = hostSubscribe(mask);
  if (r != 0) return status("subscribe: " + errText(<Err>r));
  // The plugin's declarations (and what it asked for with subscribeSetting),
  // not every setting as for guests that never call subscribe_setting.
  const s = hostSubscribeSetting(0, 0);
  return s == 0 ? StatusOK : status("subscribe_setting: " + errText(<Err>s));
}

// The delivery and the setting-changed event are reused from call to call
// (the most frequent event allocates only its setting's name): like the
// payload they describe, they are valid only during the handler.
const delivery = new Delivery();
const changedEvent = new SettingChanged();

/** Decodes the event of kind at [ptr, ptr+len) and calls its handler (heksher_on_*). */
export function dispatchEvent(kind: u32, ptr: usize, len: i32): i32 {
  const r = new Reader(ptr, ptr + <usize>len);
  const k = r.u32();
  const version = r.u32();
  delivery.seq = r.u64();
  delivery.dropped = r.u64();
  delivery.eventSeq = r.u64();
  delivery.timeUnixNano = r.i64();
  delivery.unreadable = false;
  delivery.reason = ClosingReason.Shutdown;
  if (r.bad || k != kind || version != 1) return status("malformed event payload");
  let msg: string | null = null;
  switch (kind) {
    case 1: {
      const fn = hDeclared;
      if (fn === null) return StatusUnsupported;
      const e = new Declared();
      e.setting = r.str();
      e.version = r.str();
      e.outcome = r.str();
      e.latestVersion = r.str();
      e.differencesJSON = r.str();
      e.tracked = r.bool();
      e.error = r.str();
      if (r.bad || r.p != r.end) return status("malformed event payload");
      msg = fn(delivery, e);
      break;
    }
    case 2: {
      const fn = hUpdateOK;
      if (fn === null) return StatusUnsupported;
      const e = new UpdateOK();
      e.notModified = r.bool();
      e.etag = r.str();
      e.durationNs = r.i64();
      const nc = r.count(4);
      for (let i: u32 = 0; i < nc; i++) e.changed.push(r.str());
      const nr = r.count(30);
      for (let i: u32 = 0; i < nr && !r.bad; i++) {
        const x = new Rejected();
        x.setting = r.str();
        x.isDefault = r.bool();
        x.ruleId = r.i64();
        x.conditions = readConditions(r);
        x.valueJSON = r.str();
        x.reason = r.str();
        e.rejected.push(x);
      }
      if (r.bad || r.p != r.end) return status("malformed event payload");
      msg = fn(delivery, e);
      break;
    }
    case 3: {
      const fn = hUpdateError;
      if (fn === null) return StatusUnsupported;
      const e = new UpdateError();
      e.message = r.str();
      e.consecutiveFailures = r.u32();
      e.lastSuccessUnixNano = r.i64();
      e.durationNs = r.i64();
      if (r.bad || r.p != r.end) return status("malformed event payload");
      msg = fn(delivery, e);
      break;
    }
    case 4: {
      const fn = hSettingChanged;
      if (fn === null) return StatusUnsupported;
      const e = changedEvent;
      e.setting = r.str();
      readRuleSet(r, e.old);
      readRuleSet(r, e.new);
      if (r.bad || r.p != r.end) return status("malformed event payload");
      delivery.unreadable = (hostEventInfo(1) & 2) != 0;
      msg = fn(delivery, e);
      break;
    }
    case 5: {
      const fn = hClosing;
      if (fn === null) return StatusUnsupported;
      if (r.p != r.end) return status("malformed event payload");
      const why = hostEventInfo(2);
      delivery.reason = why == 2 ? ClosingReason.Replaced : why == 3 ? ClosingReason.Removed : ClosingReason.Shutdown;
      msg = fn(delivery);
      break;
    }
    default:
      return StatusUnsupported;
  }
  return status(msg);
}
