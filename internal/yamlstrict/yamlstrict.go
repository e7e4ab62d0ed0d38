// Package yamlstrict decodes one YAML document into a Go value strictly, for
// the files a person writes by hand: the host's configuration (host/config)
// and the dev server's seed file (internal/server).
//
// Strict means that a mistake is an error rather than a silent default: an
// unknown field (with the known ones listed), a field or map key given twice,
// a value of the wrong kind (a list where a string belongs, a bare true where
// a string belongs), an integer out of range, or a second document. Every
// error is an [*Error] naming the file, line, column and field path, and a
// YAML syntax error carries its line and column too.
//
// Decoding is driven by the Go type: structs by their `yaml:"name"` tags,
// maps with string keys, slices, strings, booleans, integers, and interfaces
// (any), which take the YAML value as gopkg.in/yaml.v3 decodes it. A null
// leaves the zero value.
package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	goccy "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"
)

// Error is a problem at one place of a YAML file.
type Error struct {
	// File is the name given to [Decode].
	File string
	// Line and Column locate the problem (1-based); 0 when unknown.
	Line, Column int
	// Field is the field's path, e.g. "plugins[1].deadline"; "" for the
	// document itself and for syntax errors.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "file:line:col: field: msg", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	loc := e.File
	switch {
	case e.Line > 0 && e.Column > 0:
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	case e.Line > 0:
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	var s string
	if loc != "" {
		s = loc + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// Position is a line and column in the file (1-based).
type Position struct{ Line, Column int }

// Positions maps a field path ("plugins[0].deadline") to where it was
// written, for error messages about values that decoded but are invalid.
type Positions map[string]Position

// Options adapts [Decode] to the types of one file format. The zero value
// is ready to use.
type Options struct {
	// Scalar returns the decoder of v when v (addressable) is a value
	// written as one YAML scalar with its own syntax (a duration, a size),
	// and nil otherwise. The decoder's error becomes the [*Error]'s Msg.
	Scalar func(v reflect.Value) func(s string) error
}

// Decode strictly decodes the single YAML document in data into out, a
// non-nil pointer, naming file in errors. It returns where every field path
// it saw was written. An empty document leaves out as it was.
//
// # Errors
//
// Anything wrong in data is an [*Error]. An out that is not a non-nil
// pointer is a programming error, returned as a plain error.
func Decode(file string, data []byte, out any, opts Options) (Positions, error) {
	pos := Positions{}
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return pos, fmt.Errorf("yamlstrict: Decode needs a non-nil pointer, got %T", out)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return pos, nil // an empty document is the zero value
		}
		return pos, syntaxError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return pos, &Error{File: file, Line: extra.Line, Column: extra.Column, Msg: "only one YAML document is allowed"}
	} else if !errors.Is(err, io.EOF) {
		return pos, syntaxError(file, data, err)
	}
	d := decoder{file: file, pos: pos, scalar: opts.Scalar}
	node := &doc
	if node.Kind == yaml.DocumentNode && len(node.Content) > 0 {
		node = node.Content[0]
	}
	return pos, d.decode(node, rv.Elem(), "")
}

// syntaxError locates a YAML syntax error. gopkg.in/yaml.v3 reports only a
// line, often that of the enclosing block rather than of the mistake, so the
// document is parsed again with github.com/goccy/go-yaml, whose errors point
// at the offending token. yaml.v3 alone decides what is accepted, and its
// message is kept.
func syntaxError(file string, data []byte, err error) *Error {
	e := &Error{File: file, Line: yamlErrLine(err), Msg: yamlErrMsg(err)}
	_, perr := parser.ParseBytes(data, 0)
	if se, ok := errors.AsType[*goccy.SyntaxError](perr); ok && se.Token != nil && se.Token.Position != nil && se.Token.Position.Line > 0 {
		e.Line, e.Column = se.Token.Position.Line, se.Token.Position.Column
	}
	return e
}

// yamlErrLine extracts the line from a yaml.v3 error ("yaml: line 3: …").
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

// yamlErrMsg strips yaml.v3's "yaml: line N: " prefix from its error.
func yamlErrMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(s, "line ") {
		if _, rest, ok := strings.Cut(s, ": "); ok {
			return rest
		}
	}
	return s
}

type decoder struct {
	file   string
	pos    Positions
	scalar func(v reflect.Value) func(s string) error
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
	if d.scalar != nil && v.CanAddr() {
		if decode := d.scalar(v); decode != nil {
			if n.Kind != yaml.ScalarNode {
				return d.errAt(n, path, "want a single value, got a %s", kindName(n))
			}
			if err := decode(n.Value); err != nil {
				return d.errAt(n, path, "%s", err)
			}
			return nil
		}
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
