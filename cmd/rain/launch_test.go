package main

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rain-wasm/rain/internal/slurmtest"
)

// launchProcess is `rain launch` running, its output read line by line.
type launchProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	out    strings.Builder
	exited chan error // how it ended
}

func startLaunch(t *testing.T, env []string, args ...string) *launchProcess {
	t.Helper()
	cmd := exec.Command(rainBin, append([]string{"launch"}, args...)...)
	cmd.Env = env
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &launchProcess{t: t, cmd: cmd, lines: make(chan string, 100), exited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { p.exited <- cmd.Wait(); w.Close() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

// expect waits for a line matching re, and returns it.
func (p *launchProcess) expect(re string, within time.Duration) string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(within)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("rain launch ended with no line like %q; it printed:\n%s", re, p.out.String())
			}
			p.out.WriteString(line + "\n")
			if rx.MatchString(line) {
				return line
			}
		case <-deadline:
			p.t.Fatalf("no line like %q within %v; rain launch printed:\n%s", re, within, p.out.String())
		}
	}
}

// rain launch starts nodes for a shared hub, says when they joined, and ends them on Ctrl-C.
func TestLaunchCommand(t *testing.T) {
	env := testEnv(t)
	url := startHub(t, env, "workshop")
	p := startLaunch(t, append(env, "RAIN_TOKEN=workshop"), "local", "2", "--tier", "interpreter", "--join", url)
	p.expect(`^local-\w+ · 2/2 nodes joined after`, 30*time.Second)
	p.cmd.Process.Signal(syscall.SIGINT)
	p.expect(`^local-\w+ · done \(stopped\)$`, 30*time.Second)
	if err := <-p.exited; err != nil {
		t.Errorf("rain launch ended with %v", err)
	}
}

// Each bad input is one line, and the command fails.
func TestLaunchCommandErrors(t *testing.T) {
	env := testEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "rain: launch: say which launcher"},
		{[]string{"slurm", "0", "--join", "nats://h:4222"}, `rain: launch: usage: "0" nodes: N must be a whole number above 0: launch slurm N`},
		{[]string{"local", "1"}, "rain: launch: --join URL is required"},
		{[]string{"local", "1", "--join", "http://h"}, "the scheme must be nats, tls, ws or wss"},
		{[]string{"slurm", "1", "--join", "nats://127.0.0.1:4222"}, "rain: launch: slurm: no scontrol on the PATH"},
		{[]string{"local", "1", "--join", "nats://127.0.0.1:1"}, "rain: launch: cluster: lost the hub: nats://127.0.0.1:1"},
	} {
		cmd := exec.Command(rainBin, append([]string{"launch"}, tt.args...)...)
		cmd.Env = append(env, "PATH=/nonexistent")
		out, err := cmd.CombinedOutput()
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndex(last, "\n"); i >= 0 {
			last = last[i+1:]
		}
		if err == nil || !strings.Contains(last, tt.want) {
			t.Errorf("rain launch %v: %v, last line %q, want %q", tt.args, err, last, tt.want)
		}
	}
}

// Killed, the REPL that launched a Slurm job leaves nothing in the queue.
func TestREPLKilledEndsSlurmJob(t *testing.T) {
	slurmtest.Need(t)
	tm := startREPL(t, testEnv(t), "--nodes", "0", "--no-history")
	tm.expect(`\[1\] `, 20*time.Second)
	tm.send("j = %cluster launch slurm 2 --tier interpreter\r")
	tm.send("j.id\r")
	id := strings.Trim(tm.expect(`"\d+"`, time.Minute), `"`)
	tm.cmd.Process.Kill()
	tm.cmd.Wait()
	// Slurm says when the job has ended: a job that depends on its end, submitted with --wait,
	// returns once it has run.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sbatch", "--wait", "--dependency=afterany:"+id, "--output=/dev/null", "--wrap=true").CombinedOutput(); err != nil {
		t.Fatalf("waiting for job %s to end: %v\n%s", id, err, out)
	}
	out, err := exec.Command("squeue", "--noheader", "--format=%i").CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v\n%s", err, out)
	}
	if strings.Contains(" "+strings.Join(strings.Fields(string(out)), " ")+" ", " "+id+" ") {
		t.Fatalf("job %s is still in the queue after its REPL was killed:\n%s", id, out)
	}
}
