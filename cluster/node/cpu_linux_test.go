package node

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// bindEnv, in a child of this test, names the CPU it binds itself to before starting a child
// of its own.
const bindEnv = "RAIN_TEST_BIND"

// A bound process runs on its CPU only, and so does a process it starts, as a node's worker.
func TestBind(t *testing.T) {
	if v := os.Getenv(bindEnv); v != "" {
		id, _ := strconv.Atoi(v)
		if err := bind(BindCPU(id)); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.Write(out)
		return
	}
	cpus := CPUs()
	if len(cpus) < 2 {
		t.Skipf("binding needs 2 CPUs or more; this process may use %v", cpus)
	}
	last := cpus[len(cpus)-1]
	cmd := exec.Command(os.Args[0], "-test.run=^TestBind$")
	cmd.Env = append(os.Environ(), bindEnv+"="+strconv.Itoa(last))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "Cpus_allowed_list:\t" + strconv.Itoa(last) + "\n"; !strings.Contains(string(out), want) {
		t.Errorf("the bound process's child says\n%s\nwant %q", out, want)
	}
}

func TestCPUFlag(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		bad      bool
	}{
		{"0", "0", false}, {"3", "3", false}, {"none", "none", false}, {"-1", "", true}, {"x", "", true},
	} {
		var c CPU
		err := c.Set(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && c.String() != tt.want) {
			t.Errorf("Set(%q): %v, %v", tt.in, c, err)
		}
	}
}
