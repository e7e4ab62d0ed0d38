// The SDK's test guest: host/wasm/assemblyscript_test.go loads it and
// drives every event kind through the SDK, and its benchmarks compare it
// with the Go SDK's test guest. A setting_changed event's setting name picks
// the behaviour: "walk" reads every field of the event, "noop" returns at
// once, "typed" logs typed lookups, "big" looks up a value larger than the
// SDK's first lookup buffer, "boom" indexes an array out of range (an abort,
// a trap for the host), "random" uses Math.random and trace (routed to WASI
// and the log), "fail" returns an error, "reasons" logs the errors of failing
// lookups with the host's reasons; anything else logs the change.
// "marks" logs the change's start-up and unreadable marks; "answers" logs
// typed lookups with their source, origin and rule (get_setting_info).
// The config "fail" fails the init, "baddecl" declares a setting without a
// name, "abort" fails an assertion during init, "all" selects every
// setting's changes (subscribeSetting) and "origin" (or the JSON string
// "origin") declares the int rate_limit and logs its answer at init.
export * from "../assembly/exports";
import {
  BoolSetting, Context, RuleSet, Declared, Delivery, EMPTY, FloatSetting, IntSetting, Setting, SettingChanged,
  StringSetting, UpdateError, UpdateOK, declareString, info, init, onClosing, onDeclared,
  onSettingChanged, onUpdateError, onUpdateOK, parseJSONString, subscribeSetting, ALL_SETTINGS, ClosingReason,
  AnswerInfo, declareInt, originName, sourceName,
} from "../assembly/index";

const prod = new Context().add("env", "prod");
const answer = new IntSetting("answer");
const ratio = new FloatSetting("answer");
const enabled = new BoolSetting("enabled");
let greeting = new StringSetting("greeting");
const big = new Setting("big");
const missing = new IntSetting("missing");
let walked: i64 = 0;

init((config: string): string | null => {
  if (config == "fail") return "init refused: " + config;
  if (config == "baddecl") declareString("", [], "x");
  if (config == "abort") assert(false, "refusing to start");
  if (config == "all") subscribeSetting(ALL_SETTINGS);
  if (config == "origin" || config == "\"origin\"") {
    const limit = declareInt("rate_limit", ["env", "user"], 100);
    const a = limit.answer(prod, -1);
    info("origin: rate_limit=" + a.value.toString() + " " + answerText(a) + (limit.ok ? "" : " (" + limit.error() + ")"));
  }
  greeting = declareString("greeting", ["env"], "hello \"world\"");
  info("init: config=" + config + " answer=" + answer.get(prod).toString());
  return null;
});

// answerText describes where an answer came from.
function answerText(a: AnswerInfo): string {
  let s = "source=" + sourceName(a.source) + " origin=" + originName(a.origin) + " rule=" + a.ruleId.toString() + " [";
  for (let i = 0; i < a.conditions.length; i++) {
    s += (i > 0 ? "," : "") + a.conditions[i].feature + "=" + a.conditions[i].value;
  }
  return s + "]";
}

// walk reads every field of the event, as a plugin that inspects the rules
// would, without decoding strings (the Go guest's walk reads byte lengths).
function walk(e: SettingChanged): void {
  for (let s = 0; s < 2; s++) {
    const rs = s == 0 ? e.old : e.new;
    walked += <i64>rs.defaultLen;
    const c = rs.cursor();
    while (c.next()) {
      walked += c.id + <i64>c.valueLength;
      while (c.nextCondition()) walked += <i64>(c.featureLength + c.condValueLength);
    }
  }
}

function describe(rs: RuleSet): string {
  let s = (rs.retrieved ? "retrieved" : "never") + " default=" + rs.defaultJSON();
  const rules = rs.rules();
  for (let i = 0; i < rules.length; i++) {
    s += " #" + rules[i].id.toString() + "[";
    for (let j = 0; j < rules[i].conditions.length; j++) {
      s += (j > 0 ? "," : "") + rules[i].conditions[j].feature + "=" + rules[i].conditions[j].value;
    }
    s += "]=" + rules[i].valueJSON;
  }
  return s;
}

// describeCursor is describe's rules through a RuleCursor.
function describeCursor(rs: RuleSet): string {
  let s = "";
  const c = rs.cursor();
  while (c.next()) {
    s += " #" + c.id.toString() + "[";
    let first = true;
    while (c.nextCondition()) {
      s += (first ? "" : ",") + c.feature() + "=" + c.value();
      first = false;
    }
    s += "]=" + c.valueJSON();
  }
  return s;
}

onSettingChanged((d: Delivery, e: SettingChanged): string | null => {
  if (e.setting == "walk") {
    walk(e);
    return null;
  }
  if (e.setting == "noop") return null;
  if (e.setting == "marks") {
    info("marks: initial=" + (e.initial ? "true" : "false") + " unreadable=" + (d.unreadable ? "true" : "false"));
    return null;
  }
  if (e.setting == "fail") return "handler failed on purpose";
  if (e.setting == "typed") {
    const a = answer.get(prod);
    const r = ratio.get(prod);
    const en = enabled.get(prod);
    const g = greeting.get(prod);
    const m = missing.get(prod, -1);
    const t = enabled.get(EMPTY) ? "true" : "false";
    const asStr = new StringSetting("answer").get(prod, "fallback");
    info("typed: answer=" + a.toString() + " ratio=" + r.toString() + " enabled=" + (en ? "true" : "false") +
      " default_enabled=" + t + " greeting=" + g + " missing=" + m.toString() + " (" + missing.error() +
      ") answer_as_str=" + asStr + " (" + (new StringSetting("answer").get(prod) == "" ? "type error" : "?") + ")");
    return null;
  }
  if (e.setting == "answers") {
    const a = answer.answer(prod, -1);
    const r = ratio.answer(prod, -1);
    const en = enabled.answer(EMPTY);
    const g = greeting.answer(prod, "fallback");
    const m = missing.answer(prod, -1);
    const j = big.answerJSON(EMPTY);
    info("answers: answer=" + a.value.toString() + " " + answerText(a) + "; ratio=" + r.value.toString() +
      "; enabled=" + (en.value ? "true" : "false") + " " + answerText(en) + "; greeting=" + g.value + " " + answerText(g) +
      "; missing=" + m.value.toString() + " " + answerText(m) + " (" + missing.error() + "); big=" + j.value.length.toString());
    return null;
  }
  if (e.setting == "reasons") {
    missing.get(prod, -1);
    const colour = new Context().add("colour", "red");
    answer.get(colour, -1);
    info("reasons: missing: " + missing.reason + "; answer: " + (answer.ok ? "ok" : answer.error()));
    return null;
  }
  if (e.setting == "big") {
    const v = big.json(EMPTY);
    info("big: " + (v === null ? "null" : v.length.toString()));
    return null;
  }
  if (e.setting == "boom") {
    const a = new Array<i32>(1);
    return a[d.seq as i32 + 5].toString(); // out of range: abort
  }
  if (e.setting == "random") {
    trace("tracing", 2, 1.5, 2.5);
    info("random: " + (Math.random() < 1 ? "ok" : "bad"));
    return null;
  }
  info("changed " + e.setting + " seq=" + d.seq.toString() + " dropped=" + d.dropped.toString() +
    " old: " + describe(e.old) + " new: " + describe(e.new) + " cursor:" + describeCursor(e.new));
  return null;
});

onUpdateOK((d: Delivery, e: UpdateOK): string | null => {
  let s = "update_ok: not_modified=" + (e.notModified ? "true" : "false") + " etag=" + e.etag + " changed=" + e.changed.join(",");
  for (let i = 0; i < e.rejected.length; i++) {
    const r = e.rejected[i];
    s += " rejected " + r.setting + "#" + r.ruleId.toString() + " " + r.valueJSON + ": " + r.reason;
  }
  info(s);
  return null;
});

onUpdateError((d: Delivery, e: UpdateError): string | null => {
  info("update_error: " + e.message + " failures=" + e.consecutiveFailures.toString() + " last_success=" + e.lastSuccessUnixNano.toString());
  return null;
});

onDeclared((d: Delivery, e: Declared): string | null => {
  info("declared: " + e.setting + " v" + e.version + " outcome=" + e.outcome + " tracked=" + (e.tracked ? "true" : "false") + " error=" + e.error);
  return null;
});

onClosing((d: Delivery): string | null => {
  info("closing seq=" + d.seq.toString());
  info("closing reason=" + (d.reason == ClosingReason.Replaced ? "replaced" : d.reason == ClosingReason.Removed ? "removed" : "shutdown"));
  return null;
});

/** bench_lookups makes n raw lookups of answer for env=prod: 0, or -1 on failure. */
export function bench_lookups(n: u32): i32 {
  for (let i: u32 = 0; i < n; i++) {
    if (answer.fetch(prod) < 0) return -1;
  }
  return 0;
}

/** walked keeps the "walk" case from being optimised away. */
export function bench_walked(): i64 {
  return walked;
}

/** json_string exercises parseJSONString for the Node tests. */
export function json_string_ok(): i32 {
  const s = parseJSONString("\"a\\\"b\\u00e9\\n\"");
  return s !== null && s == "a\"b\u00e9\n" ? 1 : 0;
}
