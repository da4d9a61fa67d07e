package display

import (
	"math"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// JSONType is the MIME type of a value's data form. Only containers (lists, tuples, dicts)
// carry it: JupyterLab prefers application/json to every other type, so a table or a number
// with it would show as a JSON tree there instead of as a table or a number.
const JSONType = "application/json"

// maxJSONItems bounds the values a data form holds: a bigger value shows as text only, so
// that a cell returning a million results does not send them twice.
const maxJSONItems = 10000

// JSONOf is a plain Starlark value as JSON data: None, bools, ints (exact in a float64),
// finite floats, UTF-8 strings, lists and tuples of these, and dicts with string keys.
// ok is false for anything else, or for a value of more than maxJSONItems parts.
func JSONOf(v starlark.Value) (data any, ok bool) {
	n := 0
	return toJSON(v, &n, 0)
}

func toJSON(v starlark.Value, n *int, depth int) (any, bool) {
	*n++
	if *n > maxJSONItems || depth > 64 {
		return nil, false
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, true
	case starlark.Bool:
		return bool(v), true
	case starlark.Int:
		i, ok := v.Int64()
		if !ok || i > 1<<53 || i < -(1<<53) {
			return nil, false
		}
		return i, true
	case starlark.Float:
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		return f, true
	case starlark.String:
		if !utf8.ValidString(string(v)) {
			return nil, false
		}
		return string(v), true
	case *starlark.List:
		return seqJSON(v, n, depth)
	case starlark.Tuple:
		return seqJSON(v, n, depth)
	case *starlark.Dict:
		out := make(map[string]any, v.Len())
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok || !utf8.ValidString(string(k)) {
				return nil, false
			}
			x, ok := toJSON(kv[1], n, depth+1)
			if !ok {
				return nil, false
			}
			out[string(k)] = x
		}
		return out, true
	}
	return nil, false
}

func seqJSON(s starlark.Indexable, n *int, depth int) (any, bool) {
	out := make([]any, s.Len())
	for i := range out {
		x, ok := toJSON(s.Index(i), n, depth+1)
		if !ok {
			return nil, false
		}
		out[i] = x
	}
	return out, true
}
