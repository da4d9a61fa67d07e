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
			if _, container := tt.v.(starlark.Sequence); !container {
				if _, isDict := tt.v.(*starlark.Dict); !isDict {
					got, _ := json.Marshal(data)
					if string(got) != tt.want || b[JSONType] != nil {
						t.Errorf("JSONOf(%s) = %s, bundle %v; want %s and no JSON in the bundle of a scalar", tt.v, got, b[JSONType], tt.want)
					}
					return
				}
			}
			got, err := json.Marshal(b[JSONType])
			if !ok || err != nil || string(got) != tt.want {
				t.Errorf("JSON of %s = %s (%v, %v), want %s", tt.v, got, ok, err, tt.want)
			}
		})
	}
}
