package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/internal/slurmtest"
)

// rainBin is the rain binary built once for the tests in this package.
var rainBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rain-bin-")
	if err != nil {
		panic(err)
	}
	rainBin = filepath.Join(dir, "rain")
	build := exec.Command("go", "build", "-o", rainBin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	slurmtest.Stop()
	os.Exit(code)
}

// testEnv is an environment with a private home, so tests keep no history or cache of the
// user's, and no colours.
func testEnv(t *testing.T) []string {
	home := t.TempDir()
	return append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local/share"), "NO_COLOR=1")
}

// repoRoot is where examples/ lives: scripts refer to examples by paths relative to it.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	wantError  = regexp.MustCompile(`(?m)^# error: (.*)$`)
	wantOutput = regexp.MustCompile(`(?m)^# output: (.*)$`)
)

// TestRunGrantedDir: a WASI module reads a host file only from a directory granted with --dir.
func TestRunGrantedDir(t *testing.T) {
	script := filepath.Join(t.TempDir(), "grant.star")
	os.WriteFile(script, []byte("%load examples/hello.wasm as h\nh.read_file()\n"), 0o644)
	grant, _ := filepath.Abs("testdata/grant")
	for _, tt := range []struct {
		args       []string
		out, value string
	}{
		{[]string{"--dir", grant + ":/data"}, "granted hello", "\n0\n"},
		{nil, "", "\n-1\n"},
	} {
		cmd := exec.Command(rainBin, append(append([]string{"run"}, tt.args...), script)...)
		cmd.Dir = repoRoot(t)
		cmd.Env = testEnv(t)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("rain run %v: %v\n%s", tt.args, err, out)
		}
		if !strings.Contains(string(out), tt.out) || !strings.HasSuffix(string(out), tt.value) {
			t.Errorf("rain run %v printed %q, want %q and the value %q", tt.args, out, tt.out, tt.value)
		}
	}
}

// TestBadSettingFlags: a bad node setting, on a session or on rain node, ends the command
// with exit code 1 and one line that names the flag, the value and what to give; --help prints
// the flags.
func TestBadSettingFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, cmd := range [][]string{{"run"}, {"node", "--join", "nats://127.0.0.1:1"}} {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--tier", "jit"}, `rain: invalid value "jit" for flag -tier: wasm: unknown tier "jit": use auto, compiler or interpreter`},
			{[]string{"--dir", missing + ":/data"}, `rain: invalid value "` + missing + `:/data" for flag -dir: wasm: directory grant "` + missing + `:/data": ` + missing + ` is not a directory; use HOST:GUEST, or HOST to see it at its own path`},
			{[]string{"--memory-limit", "512"}, `rain: invalid value "512" for flag -memory-limit: wasm: memory limit "512": no unit; use a size such as 512MiB`},
			{[]string{"--engine", "interpreter"}, "rain: flag provided but not defined: -engine"},
		} {
			args := append(append(slices.Clone(cmd), tt.args...), "script.star")
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				c := exec.Command(rainBin, args...)
				c.Env = testEnv(t)
				var stdout, stderr bytes.Buffer
				c.Stdout, c.Stderr = &stdout, &stderr
				c.Run()
				if code := c.ProcessState.ExitCode(); code != 1 || stdout.Len() > 0 || !strings.HasPrefix(stderr.String(), tt.want) || strings.Count(stderr.String(), "\n") != 1 {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", code, stdout.String(), stderr.String(), tt.want)
				}
			})
		}
	}
	c := exec.Command(rainBin, "node", "--help")
	out, err := c.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "Usage: rain node") || !strings.Contains(string(out), "-tier TIER") {
		t.Errorf("rain node --help: %v, printed %q; want the usage", err, out)
	}
}

// TestRunScripts runs every testdata/run/*.star script with `rain run`. A script passes when
// it exits 0 (scripts check themselves with fail()) and prints each "# output: TEXT" line's
// text; a script with "# error: TEXT" lines must instead exit 1 with each TEXT in what it
// printed to stderr, and no Go panic.
func TestRunScripts(t *testing.T) {
	scripts, _ := filepath.Glob("testdata/run/*.star")
	if len(scripts) == 0 {
		t.Fatal("no scripts in testdata/run")
	}
	for _, script := range scripts {
		script := script
		t.Run(strings.TrimSuffix(filepath.Base(script), ".star"), func(t *testing.T) {
			src, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs(script)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, rainBin, "run", abs)
			cmd.Dir = repoRoot(t)
			cmd.Env = testEnv(t)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			if ms := wantError.FindAllSubmatch(src, -1); ms != nil {
				if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
					t.Fatalf("want exit code 1, got %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
				}
				for _, m := range ms {
					if !strings.Contains(stderr.String(), string(m[1])) {
						t.Errorf("stderr lacks %q:\n%s", m[1], stderr.String())
					}
				}
				if strings.Contains(stderr.String(), "goroutine ") || strings.Contains(stderr.String(), "panic:") {
					t.Fatalf("a Go panic reached the user:\n%s", stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("rain run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			for _, m := range wantOutput.FindAllSubmatch(src, -1) {
				if !strings.Contains(stdout.String(), string(m[1])) {
					t.Errorf("stdout lacks %q:\n%s", m[1], stdout.String())
				}
			}
		})
	}
}
