package wasm

import "github.com/heksher-go/heksher/internal/abi"

// Level is a log level; the values are log/slog's.
type Level int32

// Log levels.
const (
	LevelDebug Level = Level(abi.LevelDebug)
	LevelInfo  Level = Level(abi.LevelInfo)
	LevelWarn  Level = Level(abi.LevelWarn)
	LevelError Level = Level(abi.LevelError)
)

// Log sends msg to the host's logger, under the plugin's name.
func Log(level Level, msg string) { hostLog(int32(level), msg) }

// LogEnabled reports whether the host would keep a message at level; use it
// to skip formatting messages nobody reads.
func LogEnabled(level Level) bool { return hostLogEnabled(int32(level)) != 0 }

// Debug logs msg at LevelDebug.
func Debug(msg string) { Log(LevelDebug, msg) }

// Info logs msg at LevelInfo.
func Info(msg string) { Log(LevelInfo, msg) }

// Warn logs msg at LevelWarn.
func Warn(msg string) { Log(LevelWarn, msg) }

// Error logs msg at LevelError.
func Error(msg string) { Log(LevelError, msg) }
