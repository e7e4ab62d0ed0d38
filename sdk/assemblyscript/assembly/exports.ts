// The guest exports of ABI v1 (docs/ABI.md §2). A plugin's entry file
// re-exports them all:
//
//   export * from "heksher-wasm-sdk/assembly/exports";
//
// Every handler is exported; heksher_init subscribes only to the kinds the
// plugin registered a handler for.

import { dispatchInit, dispatchEvent } from "./index";
import "./abort"; // the abort, trace and seed the asconfig.json routes here

/** The ABI v1 marker. */
export function heksher_abi_v1(): void {}

/** The host's event buffer: unmanaged memory, never moved or collected. */
export function heksher_alloc(size: u32): usize {
  return heap.alloc(size > 0 ? <usize>size : 1);
}

/** Releases a buffer from heksher_alloc. */
export function heksher_free(ptr: usize): void {
  heap.free(ptr);
}

export function heksher_init(ptr: usize, len: i32): i32 { return dispatchInit(ptr, len); }
export function heksher_on_declared(ptr: usize, len: i32): i32 { return dispatchEvent(1, ptr, len); }
export function heksher_on_update_ok(ptr: usize, len: i32): i32 { return dispatchEvent(2, ptr, len); }
export function heksher_on_update_error(ptr: usize, len: i32): i32 { return dispatchEvent(3, ptr, len); }
export function heksher_on_setting_changed(ptr: usize, len: i32): i32 { return dispatchEvent(4, ptr, len); }
export function heksher_on_closing(ptr: usize, len: i32): i32 { return dispatchEvent(5, ptr, len); }
