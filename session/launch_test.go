package session

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/internal/slurmtest"
)

// launchSession is a session with n local nodes (this test binary), ready, and with basics
// loaded when n > 0 (a load waits for a node).
func launchSession(t *testing.T, n int) *Session {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // where jobs write their output
	s := started(t, n)
	if n > 0 {
		run(t, s, "%load basics.wasm")
	}
	return s
}

// run runs a cell that must succeed and returns its value's text.
func run(t *testing.T, s *Session, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	v, err := s.Exec(ctx, code, &recorder{})
	if err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	if v == nil {
		return ""
	}
	return v.String()
}

// %cluster launch local starts a job whose nodes take calls; %cluster lists it, %cluster stop
// ends it, and a bare launch shows its live line rather than a value.
func TestLaunchLocal(t *testing.T) {
	s := launchSession(t, 0)
	rec := &recorder{}
	v, err := s.Exec(t.Context(), "%cluster launch local 1 --tier interpreter", rec)
	if err != nil || v != nil {
		t.Fatalf("a bare launch: %v, %v", v, err)
	}
	if len(rec.displays) == 0 || !strings.Contains(rec.displays[len(rec.displays)-1].Text(), "running · 1/1 nodes joined after") {
		t.Errorf("a bare launch showed %v", rec.displays)
	}
	name := run(t, s, "j = %cluster launch local 2 --tier interpreter\nj.name")
	if got := run(t, s, "j.state, len(j.nodes), j.launcher"); got != `("running", 2, "local")` {
		t.Errorf("the job is %s", got)
	}
	if got := run(t, s, "%load basics.wasm\nbasics.fib(20)"); got != "6765" {
		t.Errorf("fib(20) on the launched nodes = %s", got)
	}
	if got := run(t, s, "%cluster"); !strings.Contains(got, "jobs:") || !strings.Contains(got, strings.Trim(name, `"`)) {
		t.Errorf("%%cluster lists no job %s:\n%s", name, got)
	}
	// A job is named in full, or by the start of its name when no other job's begins so.
	if _, err := s.Exec(t.Context(), "%cluster stop local", &recorder{}); err == nil || !strings.Contains(err.Error(), "no job is called") {
		t.Errorf("%%cluster stop local with two local jobs: %v", err)
	}
	if got := run(t, s, "%cluster stop "+strings.Trim(name, `"`)[:len("local-")+4]); !strings.Contains(got, "done (stopped)") {
		t.Errorf("%%cluster stop says %q", got)
	}
	if got := run(t, s, "j.state, j.reason"); got != `("done", "stopped")` {
		t.Errorf("a stopped job is %s", got)
	}
}

// Every bad launch is one line, and the session goes on.
func TestLaunchErrors(t *testing.T) {
	s := launchSession(t, 1)
	t.Setenv("PATH", t.TempDir())
	for _, tt := range []struct{ cell, name, want string }{
		{"%cluster launch", "UsageError", "say which launcher"},
		{"%cluster launch pbs 2", "UsageError", `unknown launcher "pbs"`},
		{"%cluster launch local 0", "UsageError", `"0" nodes: N must be a whole number above 0`},
		{"%cluster launch slurm 2 --partition", "UsageError", "flag needs an argument: -partition"},
		{"%cluster launch ssh 'h1", "UsageError", "a ' is not closed"},
		{"%cluster launch slurm 2", "LaunchError", "slurm: no scontrol on the PATH"},
		{"%cluster launch mpi 2", "LaunchError", "mpi: no mpirun on the PATH"},
		{"%cluster launch ssh nosuchhost.invalid", "LaunchError", "cannot resolve host nosuchhost.invalid"},
		{"%cluster stop slurm-1", "UsageError", `no job is called "slurm-1": this session launched none`},
	} {
		_, err := s.Exec(t.Context(), tt.cell, &recorder{})
		e, ok := err.(*Error)
		if !ok || e.Name != tt.name || !strings.Contains(e.Value, tt.want) || strings.Contains(e.Value, "\n") {
			t.Errorf("%s: %v, want %s: …%s…", tt.cell, err, tt.name, tt.want)
		}
	}
	if got := run(t, s, "basics.fib(10)"); got != "55" {
		t.Errorf("the session after the errors: fib(10) = %s", got)
	}
}

// The end of a session ends its jobs.
func TestLaunchClose(t *testing.T) {
	s := launchSession(t, 0)
	run(t, s, "j = %cluster launch local 1 --tier interpreter")
	j := s.jobs.all()[0]
	s.Close()
	if st := j.Status(); st.String() != "done (stopped)" {
		t.Errorf("after the session's end, its job is %s", st)
	}
}

// A job through Slurm: its nodes take calls, and the end of the session takes it out of the
// queue.
func TestLaunchSlurm(t *testing.T) {
	slurmtest.Need(t)
	s := launchSession(t, 0)
	id := run(t, s, "j = %cluster launch slurm 2 --tier interpreter\nj.id")
	if got := run(t, s, "j.state, len(j.nodes)"); got != `("running", 2)` {
		t.Errorf("the job is %s", got)
	}
	if got := run(t, s, "%load basics.wasm\nbasics.fib(20)"); got != "6765" {
		t.Errorf("fib(20) on Slurm's nodes = %s", got)
	}
	s.Close()
	if out, _ := exec.Command("squeue", "--noheader", "--format=%i").Output(); strings.Contains(string(out), strings.Trim(id, `"`)) {
		t.Errorf("job %s is still in the queue after the session ended:\n%s", id, out)
	}
}

// Nodes that reach this machine beyond loopback move the session's hub to every interface:
// its local nodes move too, its modules are shipped again, and the launched nodes join at the
// address they reach.
func TestLaunchMovesHub(t *testing.T) {
	if _, err := exec.LookPath("mpirun"); err != nil {
		t.Skip("MPI: no mpirun on the PATH (Debian's openmpi-bin; scripts/install-deps installs it)")
	}
	ip := outsideIP()
	if ip == "" {
		t.Skip("this machine has no address beyond loopback")
	}
	s := launchSession(t, 1)
	if s.hub.Reachable() {
		t.Fatal("the session's hub listens beyond loopback from the start")
	}
	run(t, s, "j = %cluster launch mpi 1 --hosts "+ip+" --tier interpreter -- --oversubscribe")
	if !s.hub.Reachable() {
		t.Error("the session's hub still listens on loopback only")
	}
	if got := run(t, s, "len(j.nodes)"); got != "1" {
		t.Errorf("the job has %s nodes", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := s.WaitNodes(ctx, 2); err != nil {
		t.Fatalf("the local node and the launched one: %v", err)
	}
	if got := run(t, s, "basics.fib(15)"); got != "610" {
		t.Errorf("fib(15) after the hub moved = %s", got)
	}
}

// outsideIP is an IPv4 address of this machine beyond loopback, or "".
func outsideIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

func TestSplitWords(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"slurm 4  --partition p", []string{"slurm", "4", "--partition", "p"}},
		{`slurm 2 -- --constraint="a&b" '--comment=two words'`, []string{"slurm", "2", "--", "--constraint=a&b", "--comment=two words"}},
		{`ssh h\ 1`, []string{"ssh", "h 1"}},
		{"", nil},
	} {
		got, err := splitWords(tt.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
