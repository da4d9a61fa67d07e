package launch

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster/node"
)

// Every job ends when the process that launched it ends, even killed: a Slurm job leaves the
// queue, mpirun and its ranks end, ssh sessions end their nodes, local nodes die. While it runs,
// the hub's token is on no command line that ps shows, nor in what Slurm shows of the job.
func TestOwnerKilled(t *testing.T) {
	for _, tt := range []struct {
		words string
		need  func(*testing.T)
	}{
		{"local 2", func(*testing.T) {}},
		{"slurm 2", needSlurm},
		{"mpi 2 -- --oversubscribe", needMPI},
		{"ssh rain-test", func(t *testing.T) { needSSH(t) }},
	} {
		t.Run(strings.Fields(tt.words)[0], func(t *testing.T) {
			tt.need(t)
			hub, client := testHub(t)
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), ownerEnv+"="+tt.words, "RAIN_TEST_HUB="+hub.URL(), node.TokenEnv+"="+hub.Token(), "RAIN_TEST_LOGS="+t.TempDir())
			stdout, _ := cmd.StdoutPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				cmd.Wait()
				t.Fatalf("the owner: %v\n%s", err, stderr.String())
			}
			name, id, _ := strings.Cut(strings.TrimSpace(line), " ")
			r := testRequest(t, tt.words)
			j := newJob(r.Launcher, name, r.Total(), "")
			waitJobNodes(t, client, j)
			if pid := onCommandLine(hub.Token()); pid != "" {
				t.Errorf("the token is on the command line of process %s", pid)
			}
			if id != "" {
				if out, _ := exec.Command("scontrol", "show", "job", id).CombinedOutput(); strings.Contains(string(out), hub.Token()) {
					t.Errorf("scontrol show job shows the token:\n%s", out)
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
			waitGone(t, client, j)
			poll(t, time.Minute, name+" to end after its owner was killed", func() bool {
				return !running(j) && (id == "" || !strings.Contains(squeue(t), id+" "))
			})
		})
	}
}

// onCommandLine is the ID of a process whose command line holds s, or "".
func onCommandLine(s string) string {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), s) {
			return filepath.Base(filepath.Dir(f))
		}
	}
	return ""
}
