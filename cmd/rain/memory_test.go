package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// TestMemoryLimitFlag: --memory-limit takes a size with a unit, or none, on a session and on
// rain node; anything else is refused naming the flag, the value and the forms it takes.
func TestMemoryLimitFlag(t *testing.T) {
	for _, tt := range []struct {
		value string // "" for the flag left out
		want  wasm.MemoryLimit
		err   string
	}{
		{"", node.DefaultMemoryLimit, ""},
		{"512MiB", 512 << 20, ""},
		{"2GiB", 2 << 30, ""},
		{"1G", 1 << 30, ""},
		{"1.5g", 1536 << 20, ""},
		{"none", 0, ""},
		{"0", 0, ""},
		{"4096", 0, "no unit"},
		{"lots", 0, "not a size"},
		{"2XB", 0, "unknown unit"},
		{"8GiB", 0, "over 4GiB"},
	} {
		for _, cmd := range []string{"rain run", "rain node"} {
			t.Run(cmd+"/"+tt.value, func(t *testing.T) {
				fs := newFlagSet(cmd, "", io.Discard)
				var got *wasm.MemoryLimit
				if cmd == "rain node" {
					s := node.DefaultSettings()
					s.RegisterFlags(fs)
					got = &s.MemoryLimit
				} else {
					var sf sessionFlags
					sf.register(fs)
					got = &sf.node.MemoryLimit
				}
				var args []string
				if tt.value != "" {
					args = []string{"--memory-limit", tt.value}
				}
				err := fs.Parse(args)
				if tt.err != "" {
					if err == nil || !strings.Contains(err.Error(), `invalid value "`+tt.value+`" for flag -memory-limit`) ||
						!strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "512MiB, 2GiB or 1G") {
						t.Errorf("--memory-limit %s: %v; want an error naming the flag, the value, %q and the accepted forms", tt.value, err, tt.err)
					}
					return
				}
				if err != nil || *got != tt.want {
					t.Errorf("--memory-limit %q: %v, %v; want %v", tt.value, *got, err, tt.want)
				}
			})
		}
	}
}

// TestRunMemoryLimit: the session's --memory-limit reaches its local nodes, and a module that
// grows past it fails with a message naming the limit.
func TestRunMemoryLimit(t *testing.T) {
	script := filepath.Join(t.TempDir(), "grow.star")
	os.WriteFile(script, []byte("%load wasm/testdata/grow.wasm as g\ng.grow(1000)\n"), 0o644)
	for _, tt := range []struct {
		args       []string
		code       int
		out, error string
	}{
		{nil, 0, "1001", ""}, // 64 MiB, under the default
		{[]string{"--memory-limit", "16MiB"}, 1, "", "trap in grow: unreachable (memory limit 16 MiB reached; see --memory-limit)"},
	} {
		cmd := exec.Command(rainBin, append(append([]string{"run", "--nodes", "1"}, tt.args...), script)...)
		cmd.Dir = repoRoot(t)
		cmd.Env = testEnv(t)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != tt.code || !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.error) {
			t.Errorf("rain run %v: exit %d, stdout %q, stderr %q; want exit %d, %q and %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.out, tt.error)
		}
	}
}
