package abi

// Declaration is a decoded setting declaration, the payload of the declare
// host function:
//
//	decl := str name | str type | strs features | str default_json | str version | str metadata_json
//
// Its fields alias the payload.
type Declaration struct {
	Name     []byte
	Type     []byte
	Features Strs
	Default  []byte // wire JSON
	Version  []byte // "" means "1.0"
	Metadata []byte // a JSON object, or empty
}

// DecodeDeclaration decodes a declaration; the payload must hold exactly one.
func DecodeDeclaration(b []byte) (Declaration, error) {
	r := NewReader(b)
	var d Declaration
	d.Name = r.Str()
	d.Type = r.Str()
	d.Features = readStrs(&r)
	d.Default = r.Str()
	d.Version = r.Str()
	d.Metadata = r.Str()
	if r.bad || r.Len() != 0 {
		return Declaration{}, ErrMalformed
	}
	return d, nil
}

// AppendDeclaration appends the encoding of a declaration.
func AppendDeclaration(b []byte, name, typ string, features []string, defaultJSON []byte, version string, metadataJSON []byte) []byte {
	b = AppendStr(b, name)
	b = AppendStr(b, typ)
	b = AppendU32(b, uint32(len(features)))
	for _, f := range features {
		b = AppendStr(b, f)
	}
	b = AppendBytes(b, defaultJSON)
	b = AppendStr(b, version)
	return AppendBytes(b, metadataJSON)
}
