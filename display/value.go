package display

import (
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/array"
)

// Shower is implemented by values that know their rich form.
type Shower interface {
	Show() Bundle
}

// Terminaler is implemented by values with a form of their own for a terminal.
type Terminaler interface {
	Terminal(color bool) string
}

// Of is the MIME bundle of a cell's value: a Shower's own, an array's (see Array), or else
// its repr as text/plain and, for a list, tuple or dict of plain data (see JSONOf), the data
// as application/json.
func Of(v starlark.Value) Bundle {
	switch v := v.(type) {
	case Shower:
		return v.Show()
	case *array.Array:
		return Array(v)
	}
	b := Plain(Repr(v))
	switch v.(type) {
	case *starlark.List, starlark.Tuple, *starlark.Dict:
		if data, ok := JSONOf(v); ok {
			b[JSONType] = data
		}
	}
	return b
}

// Terminal is a cell's value as a terminal shows it.
func Terminal(v starlark.Value, color bool) string {
	switch v := v.(type) {
	case Terminaler:
		return v.Terminal(color)
	case *array.Array:
		return ArrayTerminal(v, color)
	}
	return Of(v).Text()
}

// Repr is how a plain Starlark value prints: strings quoted, as Python's repr.
func Repr(v starlark.Value) string { return v.String() }
