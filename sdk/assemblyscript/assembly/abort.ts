// Replacements for the env imports AssemblyScript's runtime would otherwise
// make (env.abort, env.trace, env.seed), which the host refuses. The package's
// asconfig.json routes them here with --use.

import { hostLog, hostSetError } from "./host";
import { wasiRandomGet } from "./host";

let aborting = false;

function say(level: i32, s: string, error: bool): void {
  const n = String.UTF8.byteLength(s);
  const p = heap.alloc(<usize>n + 1);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
  if (error) hostSetError(p, n);
  hostLog(level, p, n);
  heap.free(p);
}

/** heksherAbort logs the failure at ERROR, sets it as the call's error and traps: the host then replaces the instance. */
export function heksherAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  if (!aborting) {
    aborting = true; // an abort while reporting (out of memory) just traps
    say(8, "abort: " + (message !== null ? message : "") + " at " + (fileName !== null ? fileName : "?") + ":" + line.toString() + ":" + column.toString(), true);
  }
  unreachable();
}

/** heksherTrace logs trace() calls at DEBUG. */
export function heksherTrace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let s = "trace: " + message;
  if (n > 0) s += " " + a0.toString();
  if (n > 1) s += " " + a1.toString();
  if (n > 2) s += " " + a2.toString();
  if (n > 3) s += " " + a3.toString();
  if (n > 4) s += " " + a4.toString();
  say(-4, s, false);
}

/** heksherSeed seeds Math.random from WASI random_get (deterministic unless the plugin is granted crypto randomness). */
export function heksherSeed(): f64 {
  const p = heap.alloc(8);
  wasiRandomGet(p, 8);
  const v = reinterpret<f64>((load<u64>(p) >> 12) | 0x3ff0000000000000) - 1;
  heap.free(p);
  return v;
}
