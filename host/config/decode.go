package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/heksher-go/heksher/internal/yamlstrict"
)

// scalarDecoder is implemented by field types written as one YAML scalar with
// their own syntax (Duration, ByteSize).
type scalarDecoder interface {
	decodeScalar(s string) error
}

// scalarOf tells the strict decoder which fields are scalarDecoders.
func scalarOf(v reflect.Value) func(s string) error {
	if d, ok := v.Addr().Interface().(scalarDecoder); ok {
		return d.decodeScalar
	}
	return nil
}

// Load reads, strictly decodes and validates the configuration file at path,
// and resolves its relative paths against the file's directory. The result
// has no defaults filled in; call [Config.WithDefaults].
//
// # Errors
//
// A file that cannot be read is returned as the os error, wrapped. Anything
// wrong inside the file is an [*Error] (matching [ErrInvalid]) naming the
// file, line, column and field.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, lines, err := Parse(path, data)
	if err != nil {
		return Config{}, err
	}
	c = c.resolvePaths(dirOf(path))
	if err := c.validate(path, lines); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Parse strictly decodes data, naming file in errors, without validating
// values or resolving paths. It returns the line and column of every field
// path it saw, for later error messages. The decoder is the one the dev
// server's seed file uses: an unknown or repeated field, a value of the wrong
// kind and a second YAML document are errors, and a YAML syntax error gives
// its line and column.
func Parse(file string, data []byte) (Config, Positions, error) {
	var c Config
	pos, err := yamlstrict.Decode(file, data, &c, yamlstrict.Options{Scalar: scalarOf})
	if err != nil {
		if ye, ok := errors.AsType[*yamlstrict.Error](err); ok {
			return Config{}, pos, &Error{File: ye.File, Line: ye.Line, Column: ye.Column, Field: ye.Field, Msg: ye.Msg}
		}
		return Config{}, pos, fmt.Errorf("config: %w", err)
	}
	return c, pos, nil
}

// Positions maps a field path ("plugins[0].deadline") to where it was
// written.
type Positions = yamlstrict.Positions

// Position is a line and column in the file (1-based).
type Position = yamlstrict.Position
