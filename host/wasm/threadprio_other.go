//go:build !linux

package wasm

// Thread priorities are lowered on Linux only.

func lockCallThread() bool               { return false }
func unlockCallThread(bool, bool)        {}
func lowerThisThread() (int, int, error) { return 0, 0, nil }
func restoreThread(int, int) error       { return nil }
