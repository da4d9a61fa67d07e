package session

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
)

// starlarkKeywords are completed alongside names.
var starlarkKeywords = []string{"and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "not", "or", "pass", "return", "while", "None", "True", "False"}

// Complete returns completions for code at byte offset cursor; they replace code[start:end].
// It completes magics after %, file paths after %load, attributes after a dot (module
// exports), and names (variables, builtins, keywords) elsewhere.
func (s *Session) Complete(code string, cursor int) (matches []string, start, end int) {
	cursor = min(max(cursor, 0), len(code))
	lineStart := strings.LastIndexByte(code[:cursor], '\n') + 1
	line := code[lineStart:cursor]
	trimmed := strings.TrimLeft(line, " \t")

	// %load PATH: complete file names.
	if rest, ok := strings.CutPrefix(trimmed, "%load "); ok && !strings.Contains(rest, " ") {
		return s.completePath(rest), cursor - len(rest), cursor
	}
	// %magic or %%magic at the start of a line.
	if strings.HasPrefix(trimmed, "%") && !strings.ContainsAny(trimmed, " \t") {
		prefix := "%"
		if strings.HasPrefix(trimmed, "%%") {
			prefix = "%%"
		}
		word := strings.TrimPrefix(trimmed, prefix)
		for _, name := range sortedKeys(s.magics) {
			if m := s.magics[name]; m.cell == (prefix == "%%") && strings.HasPrefix(name, word) {
				matches = append(matches, prefix+name)
			}
		}
		return matches, cursor - len(trimmed), cursor
	}
	// a.b.c: complete the last part among the attributes of a.b.
	i := cursor
	for i > lineStart && isNameByte(code[i-1]) {
		i--
	}
	word := code[i:cursor]
	if dot := strings.LastIndexByte(word, '.'); dot >= 0 {
		obj := s.lookup(word[:dot])
		prefix := word[dot+1:]
		if h, ok := obj.(starlark.HasAttrs); ok {
			for _, n := range h.AttrNames() {
				if strings.HasPrefix(n, prefix) {
					matches = append(matches, n)
				}
			}
		}
		return matches, i + dot + 1, cursor
	}
	seen := map[string]bool{}
	add := func(n string) {
		if strings.HasPrefix(n, word) && !strings.HasPrefix(n, "__") && !seen[n] {
			seen[n] = true
			matches = append(matches, n)
		}
	}
	s.mu.Lock()
	for n := range s.globals {
		add(n)
	}
	s.mu.Unlock()
	for n := range starlark.Universe {
		add(n)
	}
	for _, k := range starlarkKeywords {
		add(k)
	}
	sort.Strings(matches)
	return matches, i, cursor
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// completePath lists files and directories starting with partial; directories end in "/".
func (s *Session) completePath(partial string) []string {
	dir, base := filepath.Split(partial)
	abs := dir
	if !filepath.IsAbs(dir) {
		abs = filepath.Join(s.opts.workDir, dir)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		if e.IsDir() {
			out = append(out, dir+name+"/")
		} else if strings.HasSuffix(name, ".wasm") {
			out = append(out, dir+name)
		}
	}
	return out
}

// Inspect returns help for the name at cursor (detail 0: signature and summary; 1: more).
func (s *Session) Inspect(code string, cursor, detail int) (display.Bundle, bool) {
	cursor = min(max(cursor, 0), len(code))
	i, j := cursor, cursor
	for i > 0 && (isNameByte(code[i-1]) || code[i-1] == '%') {
		i--
	}
	for j < len(code) && isNameByte(code[j]) {
		j++
	}
	name := strings.Trim(code[i:j], ".")
	if name == "" {
		return nil, false
	}
	text, ok := s.helpFor(name, detail)
	if !ok {
		return nil, false
	}
	return display.Plain(text), true
}

// IsComplete says whether code is a complete cell: "complete", "incomplete" (with the indent
// to continue with) or "invalid". A %% cell and an indented block end with an empty line.
func (s *Session) IsComplete(code string) (status, indent string) {
	if strings.TrimSpace(code) == "" {
		return "complete", ""
	}
	lines := strings.Split(code, "\n")
	last := lines[len(lines)-1]
	if strings.HasPrefix(strings.TrimSpace(code), "%%") {
		if len(lines) > 1 && strings.TrimSpace(last) == "" {
			return "complete", ""
		}
		return "incomplete", ""
	}
	src, err := s.translate(code)
	if err != nil {
		return "invalid", ""
	}
	lastIndent := last[:len(last)-len(strings.TrimLeft(last, " \t"))]
	opens := strings.HasSuffix(strings.TrimSpace(stripComment(last)), ":")
	if _, err := fileOptions().Parse("<cell>", src, 0); err != nil {
		if strings.Contains(err.Error(), "end of file") || opens || unclosed(src) {
			if opens {
				return "incomplete", lastIndent + "    "
			}
			return "incomplete", lastIndent
		}
		return "invalid", ""
	}
	// A block stays open until an empty line, as in Python's REPL.
	if len(lines) > 1 && strings.TrimSpace(last) != "" && lastIndent != "" {
		return "incomplete", lastIndent
	}
	return "complete", ""
}

// unclosed reports whether src has more opening brackets than closing ones.
func unclosed(src string) bool {
	depth := 0
	for _, c := range src {
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
	}
	return depth > 0
}

func stripComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		return line[:i]
	}
	return line
}
