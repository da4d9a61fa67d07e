package display

import "go.starlark.net/starlark"

// Shower is implemented by values that know their own rich form.
type Shower interface {
	Show() Bundle
}

// Of is the MIME bundle of a cell's value.
func Of(v starlark.Value) Bundle {
	if s, ok := v.(Shower); ok {
		return s.Show()
	}
	return Plain(v.String())
}
