package display

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func sample() *Table {
	return &Table{
		Title:   "mb · 2 exports",
		Headers: []string{"export", "bytes"},
		Rows:    [][]string{{"escape", "180"}, {"row", "4120"}},
		Note:    "2 of 2 shown",
		Right:   map[int]bool{1: true},
	}
}

func TestTableForms(t *testing.T) {
	tb := sample()
	tests := []struct {
		form string
		got  string
		want []string
		not  []string
	}{
		{"plain", tb.Plain(), []string{"mb · 2 exports\nexport  bytes\nescape    180\nrow      4120\n2 of 2 shown"}, []string{"\x1b["}},
		{"html", tb.HTML(), []string{`<caption`, `<th style="text-align:right">bytes</th>`, `<td style="text-align:left">escape</td>`, `<p style="font-size:smaller">2 of 2 shown</p>`}, nil},
		{"terminal without colour", tb.Terminal(false), []string{"╭", "│ escape │   180 │", "2 of 2 shown"}, []string{"\x1b["}},
		{"terminal with colour", tb.Terminal(true), []string{"\x1b[", "escape"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.form, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.got, w) {
					t.Errorf("%s lacks %q:\n%s", tt.form, w, tt.got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(tt.got, n) {
					t.Errorf("%s has %q:\n%s", tt.form, n, tt.got)
				}
			}
		})
	}
}

func TestHTMLEscapes(t *testing.T) {
	tb := &Table{Headers: []string{"<h>"}, Rows: [][]string{{"a<b>&"}}}
	if h := tb.HTML(); strings.Contains(h, "<b>") || !strings.Contains(h, "a&lt;b&gt;&amp;") {
		t.Errorf("not escaped: %s", h)
	}
}

// shown is a value with a rich form of its own.
type shown struct{ starlark.Value }

func (shown) Show() Bundle               { return Bundle{"text/plain": "plain", "text/html": "<b>rich</b>"} }
func (shown) Terminal(color bool) string { return "term" }

func TestOf(t *testing.T) {
	if b := Of(starlark.String("hi")); b.Text() != `"hi"` || len(b) != 1 {
		t.Errorf("a plain value: %v", b)
	}
	if b := Of(shown{starlark.None}); b["text/html"] != "<b>rich</b>" || b[JSONType] != nil {
		t.Errorf("a Shower: %v", b)
	}
	if s := Terminal(shown{starlark.None}, false); s != "term" {
		t.Errorf("a Terminaler: %q", s)
	}
	if s := Terminal(starlark.MakeInt(3), false); s != "3" {
		t.Errorf("a plain value in a terminal: %q", s)
	}
}
