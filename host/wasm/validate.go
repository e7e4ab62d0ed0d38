package wasm

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/internal/suggest"
)

var (
	i32          = api.ValueTypeI32
	sigVoid      = signature{}
	sigAlloc     = signature{params: []api.ValueType{i32}, results: []api.ValueType{i32}}
	sigFree      = signature{params: []api.ValueType{i32}}
	sigPtrStatus = signature{params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}}
)

type signature struct{ params, results []api.ValueType }

func (s signature) String() string { return sigString(s.params, s.results) }

func sigString(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + names(params) + ") -> (" + names(results) + ")"
}

// namedSig renders a host function's signature with its parameter names,
// e.g. "log(level i32, ptr i32, len i32) -> ()".
func namedSig(name string, d api.FunctionDefinition) string {
	names := d.ParamNames()
	ps := make([]string, len(d.ParamTypes()))
	for i, t := range d.ParamTypes() {
		ps[i] = api.ValueTypeName(t)
		if i < len(names) && names[i] != "" {
			ps[i] = names[i] + " " + ps[i]
		}
	}
	rs := make([]string, len(d.ResultTypes()))
	for i, t := range d.ResultTypes() {
		rs[i] = api.ValueTypeName(t)
	}
	return name + "(" + strings.Join(ps, ", ") + ") -> (" + strings.Join(rs, ", ") + ")"
}

func (s signature) matches(d api.FunctionDefinition) bool {
	return slices.Equal(s.params, d.ParamTypes()) && slices.Equal(s.results, d.ResultTypes())
}

// exportSpecs are the guest exports the host checks, in check order.
var exportSpecs = []struct {
	name     string
	sig      signature
	required bool
}{
	{abi.ExportMarker, sigVoid, true},
	{abi.ExportAlloc, sigAlloc, true},
	{abi.ExportFree, sigFree, true},
	{abi.ExportInit, sigPtrStatus, true},
	{abi.ExportInitialize, sigVoid, false},
	{abi.ExportOnDeclared, sigPtrStatus, false},
	{abi.ExportOnUpdateOK, sigPtrStatus, false},
	{abi.ExportOnUpdateError, sigPtrStatus, false},
	{abi.ExportOnSettingChanged, sigPtrStatus, false},
	{abi.ExportOnClosing, sigPtrStatus, false},
}

// maxListed bounds the valid names a hint lists (WASI has dozens).
const maxListed = 8

// validate checks a compiled module against ABI v1 before anything of it
// runs: the version marker, the memory, every export the host calls, and
// every import against what the group's runtime provides. It returns every
// problem it finds (empty when the module is valid), and warnings about
// exports that look like misspelt ABI exports, which the host would ignore.
func validate(rt wazero.Runtime, m wazero.CompiledModule) (problems, warnings []string) {
	exports := m.ExportedFunctions()
	if _, ok := exports[abi.ExportMarker]; !ok {
		for name := range exports {
			if v, ok := strings.CutPrefix(name, "heksher_abi_v"); ok {
				return []string{fmt.Sprintf("guest speaks ABI v%s (export %q); this host speaks v%d", v, name, abi.Version)}, nil
			}
		}
		return []string{fmt.Sprintf("missing export %q: not a heksher plugin, or built for another ABI", abi.ExportMarker)}, nil
	}
	if len(m.ImportedMemories()) > 0 {
		problems = append(problems, fmt.Sprintf("imports its memory; a plugin must define and export %q", abi.ExportMemory))
	} else if _, ok := m.ExportedMemories()[abi.ExportMemory]; !ok {
		problems = append(problems, fmt.Sprintf("missing export %q (memory)", abi.ExportMemory))
	}
	known := make([]string, 0, len(exportSpecs))
	for _, s := range exportSpecs {
		known = append(known, s.name)
	}
	// Exports the ABI does not name but that look like one of its names.
	var unknown []string
	for name := range exports {
		if !slices.Contains(known, name) && strings.HasPrefix(name, "heksher_") {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, s := range exportSpecs {
		d, ok := exports[s.name]
		if !ok {
			if s.required {
				msg := fmt.Sprintf("missing export %q %s", s.name, s.sig)
				if near := closest(s.name, unknown); near != "" {
					msg += fmt.Sprintf(" (the module exports %q: did you mean %s?)", near, s.name)
				}
				problems = append(problems, msg)
			}
			continue
		}
		if !s.sig.matches(d) {
			problems = append(problems, fmt.Sprintf("export %q has signature %s, want %s", s.name, sigString(d.ParamTypes(), d.ResultTypes()), s.sig))
		}
	}
	for _, name := range unknown {
		if near := closest(name, known); near != "" {
			if _, has := exports[near]; !has {
				warnings = append(warnings, fmt.Sprintf("export %q is not part of ABI v%d and is never called: did you mean %s?", name, abi.Version, near))
			}
		}
	}
	for _, d := range m.ImportedFunctions() {
		mod, name, _ := d.Import()
		if p := checkImport(rt, mod, name, d); p != "" {
			problems = append(problems, p)
		}
	}
	return problems, warnings
}

// checkImport returns the problem with the import mod.name, or "".
func checkImport(rt wazero.Runtime, mod, name string, d api.FunctionDefinition) string {
	if v, ok := strings.CutPrefix(mod, "heksher_v"); ok && mod != abi.ImportModule {
		return fmt.Sprintf("imports %s.%s from ABI v%s; this host speaks v%d", mod, name, v, abi.Version)
	}
	provider := rt.Module(mod)
	if provider == nil || (mod != abi.ImportModule && mod != wasiModule) {
		msg := fmt.Sprintf("imports %s.%s from unknown module %q (the host provides %s and %s; no network, no other host functions)",
			mod, name, mod, abi.ImportModule, wasiModule)
		switch {
		case mod == "env" && (name == "abort" || name == "trace" || name == "seed"):
			msg += fmt.Sprintf("; env.%s is AssemblyScript's runtime: compile with sdk/assemblyscript/asconfig.json, whose --use %s=… routes it to the host (docs/ABI.md §9.1)", name, name)
		case mod == "env":
			msg += "; env is a JavaScript host's module: the API that imports it (Date.now, console.*, process) cannot run in this host"
		default:
			if near := closest(mod, []string{abi.ImportModule, wasiModule}); near != "" {
				msg += fmt.Sprintf("; did you mean %s?", near)
			}
		}
		return msg
	}
	defs := provider.ExportedFunctionDefinitions()
	want, ok := defs[name]
	if !ok {
		names := slices.Sorted(maps.Keys(defs))
		return fmt.Sprintf("unknown host function %s.%s (%s), which the host does not provide", mod, name, suggest.Hint(name, names, maxListed))
	}
	if !slices.Equal(want.ParamTypes(), d.ParamTypes()) || !slices.Equal(want.ResultTypes(), d.ResultTypes()) {
		return fmt.Sprintf("imports %s.%s with signature %s; the host provides %s.%s %s, i.e. %s", mod, name,
			sigString(d.ParamTypes(), d.ResultTypes()), mod, name, sigString(want.ParamTypes(), want.ResultTypes()), namedSig(name, want))
	}
	return ""
}

// wasiModule is the WASI module every group provides.
const wasiModule = "wasi_snapshot_preview1"

// closest returns the name of names closest to word if it is close enough
// to be a misspelling of it, else "".
func closest(word string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	best := suggest.Rank(word, names)[0]
	if best != word && suggest.Close(word, best) {
		return best
	}
	return ""
}
