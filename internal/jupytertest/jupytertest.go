// Package jupytertest helps tests that drive Rain with real Jupyter clients: it finds Debian's
// python3 with the Jupyter packages scripts/install-deps installs, and skips a test whose
// tools are missing — or fails it under CI, where they must be there.
package jupytertest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// DebianPython is Debian's python3, which has Debian's Jupyter packages; the python3 first on
// PATH may be another one.
const DebianPython = "/usr/bin/python3"

// Need skips the test, or fails it when $CI is set, saying what is missing.
func Need(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Python returns DebianPython if it can import modules, and otherwise calls Need.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	out, err := exec.Command(DebianPython, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err != nil {
		Need(t, "%s cannot import %s (run scripts/install-deps): %v\n%s", DebianPython, strings.Join(modules, ", "), err, out)
	}
	return DebianPython
}
