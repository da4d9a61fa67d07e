package launch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// fakeRain is a program that stands for rain: it writes its arguments and the token it was
// given to out, one a line, and exits.
func fakeRain(t *testing.T, out string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rain")
	script := "#!/bin/sh\n{ for a in \"$@\"; do echo \"$a\"; done; echo \"token=$" + node.TokenEnv + "\"; } >" + out + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// Local runs `rain node` with the settings' flags and --join, under the wrapper, with the
// token in the environment and not on the command line.
func TestLocalCommand(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	out := filepath.Join(t.TempDir(), "args")
	rain := fakeRain(t, out)
	s := node.DefaultSettings()
	s.Tier, s.CacheDir = wasm.TierInterpreter, "/cache"
	l, err := Local(t.Context(), rain, 1, "nats://127.0.0.1:4222", "s3cret", s, WithWrapper("env", "RAIN_TEST=1"), WithLogDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	<-l.procs[0].exited
	l.Stop()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "node\n--tier\ninterpreter\n--cache-dir\n/cache\n--join\nnats://127.0.0.1:4222\ntoken=s3cret\n"
	if string(b) != want {
		t.Errorf("the node ran with\n%s\nwant\n%s", b, want)
	}
}

func TestLocalErrors(t *testing.T) {
	for _, tt := range []struct {
		rain string
		n    int
		s    node.Settings
		want string
	}{
		{"", 1, node.DefaultSettings(), "no rain binary"},
		{"/bin/true", -1, node.DefaultSettings(), "-1 nodes"},
		{"/bin/true", 2, node.Settings{ID: "n1"}, "2 nodes cannot share the ID n1"},
	} {
		if _, err := Local(t.Context(), tt.rain, tt.n, "nats://x", "", tt.s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Local(%q, %d, %+v): %v, want %q", tt.rain, tt.n, tt.s, err, tt.want)
		}
	}
}

// Nodes as many as the CPUs are bound one to each; fewer, or WithoutBinding, are not.
func TestLocalBinding(t *testing.T) {
	cpus := node.CPUs()
	if len(cpus) < 2 {
		t.Skipf("binding needs 2 CPUs or more; this process may use %v", cpus)
	}
	dir := t.TempDir()
	rain := filepath.Join(dir, "rain")
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done >" + dir + "/args-$$\n"
	if err := os.WriteFile(rain, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		n    int
		opts []Option
		want []string
	}{
		{len(cpus), nil, func() (w []string) {
			for _, c := range cpus {
				w = append(w, node.BindCPU(c).String())
			}
			return w
		}()},
		{len(cpus), []Option{WithoutBinding()}, nil},
		{len(cpus) - 1, nil, nil},
	} {
		old, _ := filepath.Glob(dir + "/args-*")
		for _, f := range old {
			os.Remove(f)
		}
		l, err := Local(t.Context(), rain, tt.n, "nats://x", "", node.DefaultSettings(), tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range l.procs {
			<-p.exited
		}
		l.Stop()
		files, _ := filepath.Glob(dir + "/args-*")
		var got []string
		for _, f := range files {
			b, _ := os.ReadFile(f)
			args := strings.Fields(string(b))
			if i := slices.Index(args, "--cpu"); i >= 0 {
				got = append(got, args[i+1])
			}
		}
		slices.Sort(got)
		slices.Sort(tt.want)
		if len(files) != tt.n || !slices.Equal(got, tt.want) {
			t.Errorf("%d nodes on CPUs %v: %d started, bound to %v, want %v", tt.n, cpus, len(files), got, tt.want)
		}
	}
}
