package session

import (
	"regexp"
	"strings"

	"go.starlark.net/syntax"
)

// Line magics become Starlark calls before a cell is parsed, the way IPython turns
// `%time f()` into a call: a magic line may stand anywhere in a cell, inside a loop or on the
// right of an assignment, and line numbers stay those the user typed.

// names is one name, or several separated by commas: what an assignment or a del names.
const names = `[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*`

var (
	magicLine  = regexp.MustCompile(`^(\s*)(?:(` + names + `)\s*=\s*)?%([A-Za-z_][A-Za-z0-9_]*)(?:\s+(.*?))?\s*$`)
	helpLine   = regexp.MustCompile(`^(\s*)(\?{1,2})?([A-Za-z_%][A-Za-z0-9_.]*)(\?{1,2})?\s*$`)
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	delLine    = regexp.MustCompile(`^del\s+(` + names + `)\s*(?:#.*)?$`)
	assignStmt = regexp.MustCompile(`^\s*(` + names + `)\s*=([^=].*)$`)
)

// quote makes s a Starlark string literal.
func quote(s string) string { return syntax.Quote(s, false) }

// translate rewrites the line magics, `name?` help requests and top-level `del` statements of a
// cell into Starlark.
func (s *Session) translate(code string) (string, error) {
	lines := strings.Split(code, "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "%%") {
			return "", usageError("line %d: %s is a cell magic: it must be the first line of its cell", i+1, strings.Fields(trimmed)[0])
		}
		if m := helpLine.FindStringSubmatch(line); m != nil && (m[2] != "" || m[4] != "") {
			detail := "0"
			if m[2] == "??" || m[4] == "??" {
				detail = "1"
			}
			lines[i] = m[1] + "__rain_help(" + quote(m[3]) + ", " + detail + ")"
			continue
		}
		if m := delLine.FindStringSubmatch(line); m != nil {
			// Python's del, at the top level: Starlark has none (see builtinDel).
			var pairs []string
			for _, name := range strings.Split(m[1], ",") {
				name = strings.TrimSpace(name)
				pairs = append(pairs, "("+quote(name)+", "+name+")")
			}
			lines[i] = "__rain_del(" + strings.Join(pairs, ", ") + ")"
			continue
		}
		m := magicLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		indent, lhs, name, args := m[1], m[2], m[3], m[4]
		mg, ok := s.magics[name]
		if !ok || mg.cell {
			return "", usageError("line %d: unknown magic %%%s: %%help lists the magics", i+1, name)
		}
		stmt, err := mg.translate(args, lhs)
		if err != nil {
			return "", usageError("line %d: %%%s: %s", i+1, name, err.Error())
		}
		lines[i] = indent + stmt
	}
	return strings.Join(lines, "\n"), nil
}
