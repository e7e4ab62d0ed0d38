package htype

// Kind is the shape of a [Type].
type Kind uint8

// The kinds of Heksher types.
const (
	Invalid  Kind = iota // the zero Kind; no parsed type has it
	Int                  // int: a number with an integral value
	Float                // float: any number
	Str                  // str: a string
	Bool                 // bool: true or false
	Enum                 // Enum[...]: one of a set of primitive options
	Flags                // Flags[...]: an array of distinct options
	Sequence             // Sequence<T>: an array of T
	Mapping              // Mapping<T>: an object whose values are T
)

var kindNames = [...]string{"Invalid", "int", "float", "str", "bool", "Enum", "Flags", "Sequence", "Mapping"}

// String returns the keyword of the kind as it appears in type strings.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Invalid"
}
