package kernel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/rain-wasm/rain/kernel/protocol"
)

// historyEntry is one line of the history file: the input of one cell.
type historyEntry struct {
	Session int    `json:"session"`
	Line    int    `json:"line"`
	Input   string `json:"input"`
}

// maxHistoryRead bounds how much of the history file a request reads (its end).
const maxHistoryRead = 8 << 20

// history is the kernel's input history: this session's cells in memory, every session's in
// a JSON-lines file that kernels append to. Sessions are numbered in the file, 1 up; the
// file is first touched when a cell is stored or history is asked for, not at startup.
type history struct {
	path string

	mu      sync.Mutex
	started bool
	session int
	f       *os.File
	lines   []historyEntry // this session's
}

func newHistory(path string) *history { return &history{path: path} }

// start numbers this session after the last one in the file.
func (h *history) start() {
	if h.started {
		return
	}
	h.started = true
	h.session = 1
	if h.path == "" {
		return
	}
	if last, ok := lastEntry(h.path); ok {
		h.session = last.Session + 1
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return
	}
	h.f, _ = os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

// lastEntry is the last complete entry of the file at path.
func lastEntry(path string) (historyEntry, bool) {
	f, err := os.Open(path)
	if err != nil {
		return historyEntry{}, false
	}
	defer f.Close()
	const tail = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return historyEntry{}, false
	}
	off := max(fi.Size()-tail, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return historyEntry{}, false
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		var e historyEntry
		if json.Unmarshal(lines[i], &e) == nil && e.Session > 0 {
			return e, true
		}
	}
	return historyEntry{}, false
}

// add stores a cell's input as line in this session.
func (h *history) add(line int, input string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.start()
	e := historyEntry{Session: h.session, Line: line, Input: input}
	h.lines = append(h.lines, e)
	if h.f != nil {
		b, _ := json.Marshal(e)
		h.f.Write(append(b, '\n')) // one write: lines of concurrent kernels do not interleave
	}
}

func (h *history) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != nil {
		h.f.Close()
		h.f = nil
	}
}

// all is every session's entries in order: the file's (its last maxHistoryRead bytes),
// then this session's.
func (h *history) all() []historyEntry {
	var out []historyEntry
	if h.path != "" {
		if f, err := os.Open(h.path); err == nil {
			if fi, err := f.Stat(); err == nil && fi.Size() > maxHistoryRead {
				f.Seek(fi.Size()-maxHistoryRead, io.SeekStart)
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), maxHistoryRead)
			for sc.Scan() {
				var e historyEntry
				if json.Unmarshal(sc.Bytes(), &e) == nil && e.Session > 0 && e.Session != h.session {
					out = append(out, e)
				}
			}
			f.Close()
		}
	}
	return append(out, h.lines...)
}

// query answers a history_request: "tail" (the last n cells), "range" (lines start to stop
// of a session; 0 is this session, -1 the one before) or "search" (cells matching a glob
// pattern, the last n of them).
func (h *history) query(req protocol.HistoryRequest) [][]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.start()
	var entries []historyEntry
	switch req.HistAccessType {
	case "tail":
		entries = h.all()
		if req.Unique {
			entries = uniqueLast(entries)
		}
		entries = last(entries, req.N)
	case "range":
		session := req.Session
		if session <= 0 {
			session += h.session
		}
		source := h.lines
		if session != h.session {
			source = h.all()
		}
		for _, e := range source {
			if e.Session == session && e.Line >= req.Start && (req.Stop == nil || e.Line < *req.Stop) {
				entries = append(entries, e)
			}
		}
	case "search":
		pattern := req.Pattern
		if pattern == "" {
			pattern = "*"
		}
		for _, e := range h.all() {
			if globMatch(pattern, e.Input) {
				entries = append(entries, e)
			}
		}
		if req.Unique {
			entries = uniqueLast(entries)
		}
		entries = last(entries, req.N)
	}
	out := make([][]any, 0, len(entries))
	for _, e := range entries {
		var input any = e.Input
		if req.Output {
			input = []any{e.Input, nil} // outputs are not kept
		}
		out = append(out, []any{e.Session, e.Line, input})
	}
	return out
}

// last is the last n entries (all when n is nil).
func last(entries []historyEntry, n *int) []historyEntry {
	if n == nil || *n >= len(entries) {
		return entries
	}
	return entries[len(entries)-max(*n, 0):]
}

// uniqueLast keeps the last occurrence of each input, in order.
func uniqueLast(entries []historyEntry) []historyEntry {
	seen := map[string]bool{}
	var out []historyEntry
	for i := len(entries) - 1; i >= 0; i-- {
		if !seen[entries[i].Input] {
			seen[entries[i].Input] = true
			out = append(out, entries[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// globMatch reports whether s matches pattern as SQLite's GLOB (IPython's history search)
// does: * any text, ? one character, [abc] [a-z] [^abc] one of a set; case-sensitive.
func globMatch(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	// Iterative matching with backtracking to the last star.
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				star, mark = pi, ti
				pi++
				continue
			case '?':
				pi++
				ti++
				continue
			case '[':
				if ok, next := matchClass(p, pi, t[ti]); next > 0 {
					if ok {
						pi, ti = next, ti+1
						continue
					}
				} else if p[pi] == t[ti] { // an unterminated [ matches itself
					pi++
					ti++
					continue
				}
			default:
				if p[pi] == t[ti] {
					pi++
					ti++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		pi, mark = star+1, mark+1
		ti = mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchClass matches c against the class starting at p[i] == '['. It returns whether c is
// in it and the index after the class, or 0 if the class is unterminated.
func matchClass(p []rune, i int, c rune) (bool, int) {
	j := i + 1
	negate := j < len(p) && p[j] == '^'
	if negate {
		j++
	}
	in := false
	first := true
	for ; j < len(p); j++ {
		if p[j] == ']' && !first {
			return in != negate, j + 1
		}
		first = false
		if j+2 < len(p) && p[j+1] == '-' && p[j+2] != ']' {
			if p[j] <= c && c <= p[j+2] {
				in = true
			}
			j += 2
			continue
		}
		if p[j] == c {
			in = true
		}
	}
	return false, 0
}
