// An example wasm plugin in AssemblyScript, built on sdk/assemblyscript.
//
// It declares rate_limit (an int configurable by env and user, default 100)
// and looks it up at init for the context in its config (a flat JSON object
// of strings, by default {"env":"prod"}). On every setting change it logs the
// rule counts before and after and rate_limit's value; it logs every failed
// update at error level, and says goodbye when the client closes.
export * from "../../sdk/assemblyscript/assembly/exports";
import {
  Context, Delivery, IntSetting, SettingChanged, UpdateError,
  error, info, init, onClosing, onSettingChanged, onUpdateError, warn,
} from "../../sdk/assemblyscript/assembly/index";

let ctx = new Context().add("env", "prod");
const limit = new IntSetting("rate_limit");

init((config: string): string | null => {
  const c = Context.fromJSON(config);
  if (c !== null) ctx = c;
  else if (config != "" && config != "null") return "config: want a flat JSON object of strings";
  const v = limit.declareWith(["env", "user"], 100).get(ctx);
  if (limit.ok) info("rate_limit at init is " + v.toString());
  else warn("rate_limit at init: " + limit.error());
  return null;
});

onSettingChanged((d: Delivery, e: SettingChanged): string | null => {
  const v = limit.get(ctx);
  if (!limit.ok) return limit.error();
  info("setting " + e.setting + " changed: rules " + e.old.len.toString() + " -> " +
    e.new.len.toString() + "; rate_limit is " + v.toString());
  return null;
});

onUpdateError((d: Delivery, e: UpdateError): string | null => {
  error("heksher update failed (" + e.consecutiveFailures.toString() + " in a row): " + e.message);
  return null;
});

onClosing((d: Delivery): string | null => {
  info("goodbye");
  return null;
});
