package kernel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rain-wasm/rain/kernel/protocol"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"1+2", "1+2", true},
		{"1+2", "1+23", false},
		{"1*", "1+2", true},
		{"*+*", "1+2", true},
		{"?+?", "1+2", true},
		{"?+?", "1+22", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"[0-9]+2", "7+2", true},
		{"[^0-9]+2", "7+2", false},
		{"[abc]x", "bx", true},
		{"[]]", "]", true},
		{"[", "[", true},
		{"π*", "π = 3", true},
		{"*print*", "x = 1\nprint(x)", true},
		{"PRINT*", "print(x)", false}, // case-sensitive, as SQLite's GLOB
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func intp(n int) *int { return &n }

func TestHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rain", "kernel-history.jsonl")
	// A previous session, written by another kernel.
	h1 := newHistory(path)
	h1.add(1, "old = 1")
	h1.add(2, "1+2")
	h1.close()

	h := newHistory(path)
	h.add(1, "1+2")
	h.add(2, "print(1)")
	h.add(3, "1+2")
	defer h.close()

	q := func(req protocol.HistoryRequest) [][]any { return h.query(req) }
	entry := func(s, l int, in string) []any { return []any{s, l, in} }

	if got, want := q(protocol.HistoryRequest{HistAccessType: "tail", N: intp(3)}),
		[][]any{entry(2, 1, "1+2"), entry(2, 2, "print(1)"), entry(2, 3, "1+2")}; !reflect.DeepEqual(got, want) {
		t.Errorf("tail 3 = %v, want %v", got, want)
	}
	if got := q(protocol.HistoryRequest{HistAccessType: "tail", N: intp(10)}); len(got) != 5 {
		t.Errorf("tail 10 across sessions = %v", got)
	}
	if got, want := q(protocol.HistoryRequest{HistAccessType: "tail", N: intp(10), Unique: true}),
		[][]any{entry(1, 1, "old = 1"), entry(2, 2, "print(1)"), entry(2, 3, "1+2")}; !reflect.DeepEqual(got, want) {
		t.Errorf("tail unique = %v, want %v", got, want)
	}
	if got := q(protocol.HistoryRequest{HistAccessType: "tail", N: intp(1), Output: true}); !reflect.DeepEqual(got, [][]any{{2, 3, []any{"1+2", nil}}}) {
		t.Errorf("tail with output = %v", got)
	}
	if got, want := q(protocol.HistoryRequest{HistAccessType: "range", Session: 0, Start: 2, Stop: intp(3)}),
		[][]any{entry(2, 2, "print(1)")}; !reflect.DeepEqual(got, want) {
		t.Errorf("range = %v, want %v", got, want)
	}
	if got := q(protocol.HistoryRequest{HistAccessType: "range", Session: 2, Start: 1}); len(got) != 3 {
		t.Errorf("range of session 2 to the end = %v", got)
	}
	if got, want := q(protocol.HistoryRequest{HistAccessType: "range", Session: -1, Start: 1}),
		[][]any{entry(1, 1, "old = 1"), entry(1, 2, "1+2")}; !reflect.DeepEqual(got, want) {
		t.Errorf("range of the previous session = %v, want %v", got, want)
	}
	if got := q(protocol.HistoryRequest{HistAccessType: "search", Pattern: "1+2"}); len(got) != 3 {
		t.Errorf("search = %v", got)
	}
	if got := q(protocol.HistoryRequest{HistAccessType: "search", Pattern: "1+2", Unique: true}); !reflect.DeepEqual(got, [][]any{entry(2, 3, "1+2")}) {
		t.Errorf("search unique = %v", got)
	}
	if got := q(protocol.HistoryRequest{HistAccessType: "search", Pattern: "*1*", N: intp(2)}); !reflect.DeepEqual(got, [][]any{entry(2, 2, "print(1)"), entry(2, 3, "1+2")}) {
		t.Errorf("search n=2 = %v", got)
	}
	if got := q(protocol.HistoryRequest{HistAccessType: "nonsense"}); len(got) != 0 {
		t.Errorf("unknown access type = %v", got)
	}

	// The file is JSON lines of session, line and input.
	b, _ := os.ReadFile(path)
	var first historyEntry
	if err := json.Unmarshal(b[:indexByte(b, '\n')], &first); err != nil || first != (historyEntry{1, 1, "old = 1"}) {
		t.Errorf("first line %q: %v", b[:indexByte(b, '\n')], err)
	}
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return len(b)
}

func TestHistoryInMemory(t *testing.T) {
	h := newHistory("")
	h.add(1, "a")
	if got := h.query(protocol.HistoryRequest{HistAccessType: "tail", N: intp(5)}); !reflect.DeepEqual(got, [][]any{{1, 1, "a"}}) {
		t.Errorf("tail = %v", got)
	}
}

func TestCursorOffsets(t *testing.T) {
	s := "aπ𝄞b" // 1, 2 and 4 bytes, then 1
	for cp, b := range []int{0, 1, 3, 7, 8, 8} {
		if got := byteOffset(s, cp); got != b {
			t.Errorf("byteOffset(%d) = %d, want %d", cp, got, b)
		}
		if cp <= 4 {
			if got := runeOffset(s, b); got != cp {
				t.Errorf("runeOffset(%d) = %d, want %d", b, got, cp)
			}
		}
	}
	if byteOffset(s, -1) != 0 || runeOffset(s, 99) != 4 || runeOffset(s, -5) != 0 {
		t.Error("out-of-range offsets are not clamped")
	}
}
