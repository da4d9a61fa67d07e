package launch

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// A node's line runs under sh as node.Command renders it, with the rain and the ID the shell
// fills in.
func TestNodeLine(t *testing.T) {
	s := node.DefaultSettings()
	s.Tier, s.CacheDir = wasm.TierInterpreter, "/tmp/it's here"
	line := nodeLine(`"$rain"`, "job-$RANK", "nats://10.0.0.1:4222", s)
	out, err := exec.Command("/bin/sh", "-c", `rain=printf; RANK=7; exec `+strings.Replace(line, `"$rain"`, `"$rain" '%s\n'`, 1)).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "node\n--tier\ninterpreter\n--cache-dir\n/tmp/it's here\n--id\njob-7\n--join\nnats://10.0.0.1:4222\n"
	if string(out) != want {
		t.Errorf("the line %s\nran as\n%s\nwant\n%s", line, out, want)
	}
}

func TestOutputTail(t *testing.T) {
	openMPI := `--------------------------------------------------------------------------
There are not enough slots available in the system to satisfy the 3
slots that were requested by the application:

  true

Either request fewer slots for your application, or make more slots
available for use.
--------------------------------------------------------------------------
`
	for _, tt := range []struct{ out, want string }{
		{"", ""},
		{"a\n\nb\nc\nd\n", "b · c · d"},
		{"sh: rain: not found\nsh: rain: not found\nsrun: error: tasks 0-1: Exited with exit code 127\n", "sh: rain: not found · srun: error: tasks 0-1: Exited with exit code 127"},
		{openMPI, "There are not enough slots available in the system to satisfy the 3 slots that were requested by the application:"},
		{"ssh: Could not resolve hostname nosuch\n" + openMPI, "ssh: Could not resolve hostname nosuch"},
		{strings.Repeat("x", 500), "…" + strings.Repeat("x", 399)},
	} {
		if got := outputTail([]byte(tt.out)); got != tt.want {
			t.Errorf("outputTail(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}
