package wasm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/internal/abi"
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

// validate checks a compiled module against ABI v1 before anything of it
// runs: the version marker, the memory, every export the host calls, and
// every import against what the group's runtime provides.
func validate(rt wazero.Runtime, m wazero.CompiledModule) error {
	exports := m.ExportedFunctions()
	if _, ok := exports[abi.ExportMarker]; !ok {
		for name := range exports {
			if v, ok := strings.CutPrefix(name, "heksher_abi_v"); ok {
				return fmt.Errorf("guest speaks ABI v%s (export %q); this host speaks v%d", v, name, abi.Version)
			}
		}
		return fmt.Errorf("missing export %q: not a heksher plugin, or built for another ABI", abi.ExportMarker)
	}
	if len(m.ImportedMemories()) > 0 {
		return fmt.Errorf("imports its memory; a plugin must define and export %q", abi.ExportMemory)
	}
	if _, ok := m.ExportedMemories()[abi.ExportMemory]; !ok {
		return fmt.Errorf("missing export %q (memory)", abi.ExportMemory)
	}
	for _, s := range exportSpecs {
		d, ok := exports[s.name]
		if !ok {
			if s.required {
				return fmt.Errorf("missing export %q %s", s.name, s.sig)
			}
			continue
		}
		if !s.sig.matches(d) {
			return fmt.Errorf("export %q has signature %s, want %s", s.name, sigString(d.ParamTypes(), d.ResultTypes()), s.sig)
		}
	}
	for _, d := range m.ImportedFunctions() {
		mod, name, _ := d.Import()
		if v, ok := strings.CutPrefix(mod, "heksher_v"); ok && mod != abi.ImportModule {
			return fmt.Errorf("imports %s.%s from ABI v%s; this host speaks v%d", mod, name, v, abi.Version)
		}
		provider := rt.Module(mod)
		if provider == nil || (mod != abi.ImportModule && mod != "wasi_snapshot_preview1") {
			return fmt.Errorf("imports %s.%s from unknown module %q (the host provides %s and wasi_snapshot_preview1; no network, no other host functions)", mod, name, mod, abi.ImportModule)
		}
		want, ok := provider.ExportedFunctionDefinitions()[name]
		if !ok {
			return fmt.Errorf("imports %s.%s, which the host does not provide", mod, name)
		}
		if !slices.Equal(want.ParamTypes(), d.ParamTypes()) || !slices.Equal(want.ResultTypes(), d.ResultTypes()) {
			return fmt.Errorf("imports %s.%s with signature %s; the host provides %s", mod, name,
				sigString(d.ParamTypes(), d.ResultTypes()), sigString(want.ParamTypes(), want.ResultTypes()))
		}
	}
	return nil
}
