package wasm

import (
	"encoding/json"
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

// Declaration is a setting the plugin reads; the host declares it to
// Heksher on the plugin's behalf.
type Declaration struct {
	// Name is the setting's name.
	Name string
	// Type is a Heksher type string, e.g. "int", "str", `Enum["a","b"]`.
	Type string
	// ConfigurableFeatures are the context features its rules may use.
	ConfigurableFeatures []string
	// Default is the local default as wire JSON, e.g. json.RawMessage("5").
	Default json.RawMessage
	// Version is the declaration's version; "" means "1.0".
	Version string
	// Metadata is a JSON object sent with the declaration; nil means {}.
	Metadata json.RawMessage
}

// Declare declares a setting. It may only be called from the function
// registered with [Init].
//
// # Errors
//
// [ErrNotAllowed] outside init; [ErrInvalidDeclaration] if the host found
// the declaration malformed (an empty name or type, a default or metadata
// that is not JSON); [ErrHost]. The host's refusals come as a [*HostError]
// with its reason. The host checks the rest (a known type, a
// default of that type, at least one configurable feature) when it registers
// the plugin, and refuses the plugin at load if they fail.
func Declare(d Declaration) error {
	if !inInit {
		return ErrNotAllowed
	}
	b := abi.AppendDeclaration(nil, d.Name, d.Type, d.ConfigurableFeatures, d.Default, d.Version, d.Metadata)
	switch n := hostDeclare(unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))); n {
	case abi.ResultOK:
		return nil
	case abi.ResultNotAllowed:
		return hostError(n, ErrNotAllowed)
	case abi.ResultMalformed:
		return hostError(n, ErrInvalidDeclaration)
	default:
		return hostError(n, ErrHost)
	}
}
