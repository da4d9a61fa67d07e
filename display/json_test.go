package display

import (
	"encoding/json"
	"math"
	"math/big"
	"testing"

	"go.starlark.net/starlark"
)

func TestJSONOf(t *testing.T) {
	dict := starlark.NewDict(2)
	dict.SetKey(starlark.String("n"), starlark.MakeInt(3))
	dict.SetKey(starlark.String("xs"), starlark.Tuple{starlark.Float(0.5), starlark.None, starlark.True})
	intKeys := starlark.NewDict(1)
	intKeys.SetKey(starlark.MakeInt(1), starlark.String("one"))
	var long []starlark.Value
	for i := range maxJSONItems + 1 {
		long = append(long, starlark.MakeInt(i))
	}
	tests := []struct {
		name string
		v    starlark.Value
		want string // "" when the value is not data
	}{
		{"int", starlark.MakeInt(42), `42`},
		{"string", starlark.String("héllo"), `"héllo"`},
		{"list", starlark.NewList([]starlark.Value{starlark.MakeInt(1), starlark.String("a")}), `[1,"a"]`},
		{"dict", dict, `{"n":3,"xs":[0.5,null,true]}`},
		{"empty list", starlark.NewList(nil), `[]`},
		{"big int", starlark.MakeBigInt(new(big.Int).Lsh(big.NewInt(1), 80)), ""},
		{"infinite float", starlark.Float(math.Inf(1)), ""},
		{"bytes-like string", starlark.String("\xff"), ""},
		{"dict with int keys", intKeys, ""},
		{"builtin", starlark.NewBuiltin("f", nil), ""},
		{"list holding a builtin", starlark.NewList([]starlark.Value{starlark.NewBuiltin("f", nil)}), ""},
		{"too long", starlark.NewList(long), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ok := JSONOf(tt.v)
			b := Of(tt.v)
			if tt.want == "" {
				if ok || b[JSONType] != nil {
					t.Errorf("%s has a JSON form: %v", tt.v, data)
				}
				return
			}
			got, err := json.Marshal(b[JSONType])
			if !ok || err != nil || string(got) != tt.want {
				t.Errorf("JSON of %s = %s (%v, %v), want %s", tt.v, got, ok, err, tt.want)
			}
		})
	}
}

func TestTableJSON(t *testing.T) {
	got, err := json.Marshal(sample().Bundle()[JSONType])
	want := `{"columns":["export","bytes"],"note":"2 of 2 shown","rows":[["escape",180],["row",4120]],"title":"mb · 2 exports"}`
	if err != nil || string(got) != want {
		t.Errorf("table JSON = %s (%v)\nwant %s", got, err, want)
	}
	// A left-aligned column stays text even when it reads as a number; so does a figure with a unit.
	tb := &Table{Headers: []string{"id", "cost"}, Rows: [][]string{{"7", "38 µs"}}, Right: map[int]bool{1: true}}
	if got, _ := json.Marshal(tb.JSON()); string(got) != `{"columns":["id","cost"],"rows":[["7","38 µs"]]}` {
		t.Errorf("table JSON = %s", got)
	}
}
