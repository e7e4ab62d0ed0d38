// Package config reads and validates the heksher-host configuration file.
//
// The file is YAML. [Load] decodes it strictly: a field the schema does not
// know, a value of the wrong type, or a key given twice is an error of type
// [*Error] that names the file, the line and the field path (for example
// "host.yaml:12:5: plugins[1].deadline: …"). After decoding, [Config.Validate]
// checks the values themselves (names, kinds, addresses, hashes) and reports
// problems in the same form.
//
// # Zero values mean defaults
//
// Every struct here is a plain value whose zero value means "use the default",
// in the manner of slog.HandlerOptions, so a Config built in Go by an embedder
// needs only the fields it cares about. [Config.WithDefaults] returns a copy
// with every default filled in; the host calls it once, in one place, and the
// defaults are listed beside each field and in docs/CONFIG.md.
//
// # Paths
//
// Relative paths in the file (plugin paths, the seed file, the state
// directory, TLS files, token files) are resolved against the directory that
// holds the file, so a configuration and the files it names can be moved
// together.
//
// # Concurrency
//
// A Config is a value; the package keeps no state and every function is safe
// for concurrent use.
package config
