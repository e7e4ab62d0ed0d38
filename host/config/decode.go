package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// scalarDecoder is implemented by field types written as one YAML scalar with
// their own syntax (Duration, ByteSize).
type scalarDecoder interface {
	decodeScalar(s string) error
}

var scalarDecoderType = reflect.TypeFor[scalarDecoder]()

// Load reads, strictly decodes and validates the configuration file at path,
// and resolves its relative paths against the file's directory. The result
// has no defaults filled in; call [Config.WithDefaults].
//
// # Errors
//
// A file that cannot be read is returned as the os error, wrapped. Anything
// wrong inside the file is an [*Error] (matching [ErrInvalid]) naming the
// file, line and field.
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
// path it saw, for later error messages.
func Parse(file string, data []byte) (Config, Positions, error) {
	var c Config
	pos := Positions{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c, pos, nil // an empty file is the zero configuration
		}
		return c, pos, &Error{File: file, Line: yamlErrLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return c, pos, &Error{File: file, Line: extra.Line, Column: extra.Column, Msg: "only one YAML document is allowed"}
	}
	d := decoder{file: file, pos: pos}
	node := &doc
	if node.Kind == yaml.DocumentNode && len(node.Content) > 0 {
		node = node.Content[0]
	}
	if err := d.decode(node, reflect.ValueOf(&c).Elem(), ""); err != nil {
		return Config{}, pos, err
	}
	return c, pos, nil
}

// yamlErrLine extracts the line from a yaml syntax error ("yaml: line 3: …").
func yamlErrLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		rest := s[i+5:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 0
}

// Positions maps a field path ("plugins[0].deadline") to where it was
// written.
type Positions map[string]Position

// Position is a line and column in the file (1-based).
type Position struct{ Line, Column int }

type decoder struct {
	file string
	pos  Positions
}

func (d *decoder) errAt(n *yaml.Node, field, format string, args ...any) error {
	return &Error{File: d.file, Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.pos[path] = Position{n.Line, n.Column}
	if isNull(n) {
		return nil // null leaves the zero value: the default
	}
	if v.CanAddr() && v.Addr().Type().Implements(scalarDecoderType) {
		if n.Kind != yaml.ScalarNode {
			return d.errAt(n, path, "want a single value, got a %s", kindName(n))
		}
		if err := v.Addr().Interface().(scalarDecoder).decodeScalar(n.Value); err != nil {
			return d.errAt(n, path, "%s", err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Map:
		return d.decodeMap(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errAt(n, path, "want a list, got a %s", kindName(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			return d.errAt(n, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}
	return d.decodeScalar(n, v, path)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.ScalarNode {
		return d.errAt(n, path, "want a %s, got a %s", typeName(v.Type()), kindName(n))
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		// Numbers are taken as written ("1.0" stays "1.0", a hex digest
		// of digits stays a string); booleans are refused, since a bare
		// true where a string belongs is a mistake.
		if tag != "!!str" && tag != "!!int" && tag != "!!float" {
			return d.errAt(n, path, "want a string, got %s %q (quote it to make it a string)", tagName(tag), n.Value)
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if tag != "!!bool" {
			return d.errAt(n, path, "want true or false, got %q", n.Value)
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if tag != "!!int" {
			return d.errAt(n, path, "want an integer, got %q", n.Value)
		}
		i, err := strconv.ParseInt(n.Value, 0, v.Type().Bits())
		if err != nil {
			return d.errAt(n, path, "integer %q out of range", n.Value)
		}
		v.SetInt(i)
	default:
		return d.errAt(n, path, "unsupported field type %s", v.Type())
	}
	return nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "want a mapping of fields, got a %s", kindName(n))
	}
	fields := map[string]int{}
	var names []string
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		fp := join(path, key)
		idx, ok := fields[key]
		if !ok {
			return d.errAt(k, fp, "unknown field %q (known: %s)", key, strings.Join(names, ", "))
		}
		if seen[key] {
			return d.errAt(k, fp, "field given twice")
		}
		seen[key] = true
		if err := d.decode(val, v.Field(idx), fp); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "want a mapping, got a %s", kindName(n))
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.errAt(n, path, "unsupported map key type %s", v.Type().Key())
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return d.errAt(k, path, "map keys must be plain strings")
		}
		fp := join(path, k.Value)
		key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
		if m.MapIndex(key).IsValid() {
			return d.errAt(k, fp, "key given twice")
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(val, elem, fp); err != nil {
			return err
		}
		m.SetMapIndex(key, elem)
	}
	v.Set(m)
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return tagName(n.ShortTag()) + " " + strconv.Quote(n.Value)
	}
	return "node"
}

func tagName(tag string) string {
	switch tag {
	case "!!str":
		return "string"
	case "!!int":
		return "integer"
	case "!!bool":
		return "boolean"
	case "!!float":
		return "number"
	case "!!null":
		return "null"
	}
	return strings.TrimPrefix(tag, "!!")
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	}
	return t.String()
}
