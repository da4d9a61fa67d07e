package launch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/internal/nodetest"
	"github.com/rain-wasm/rain/internal/slurmtest"
	"github.com/rain-wasm/rain/wasm"
)

// ownerEnv makes the test binary a launcher's owner that dies: it starts the launch whose
// words the variable holds, joined to the hub at $RAIN_TEST_HUB, prints the job's name and
// scheduler ID, and waits to be killed.
const ownerEnv = "RAIN_TEST_OWNER"

func TestMain(m *testing.M) {
	nodetest.Main() // the test binary is the nodes' rain
	if words := os.Getenv(ownerEnv); words != "" {
		owner(words)
	}
	code := m.Run()
	slurmtest.Stop()
	os.Exit(code)
}

func owner(words string) {
	s := node.DefaultSettings()
	s.Tier = wasm.TierInterpreter
	r, err := ParseRequest(strings.Fields(words), s, nil)
	if err == nil {
		var j *Job
		if j, err = Start(context.Background(), r, os.Getenv("RAIN_TEST_HUB"), os.Getenv(node.TokenEnv), WithBinary(os.Args[0]), WithLogDir(os.Getenv("RAIN_TEST_LOGS"))); err == nil {
			fmt.Println(j.Name, j.SchedulerID)
			select {}
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// testHub is a hub and a client of it, closed when the test ends.
func testHub(t *testing.T) (*cluster.Hub, *cluster.Client) {
	t.Helper()
	hub, err := cluster.StartHub()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	client, err := cluster.Connect(t.Context(), hub.URL(), hub.Token())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return hub, client
}

// testRequest is a request parsed from words, with nodes on the interpreter (they start fast
// and many fit a small machine) keeping their modules in a folder of the test's.
func testRequest(t *testing.T, words string) Request {
	t.Helper()
	s := node.DefaultSettings()
	s.Tier, s.CacheDir = wasm.TierInterpreter, filepath.Join(t.TempDir(), "cache")
	r, err := ParseRequest(strings.Fields(words), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startJob starts r on the hub, with the test binary as rain and its output in a folder of
// the test's, and stops it when the test ends.
func startJob(t *testing.T, hub *cluster.Hub, r Request) *Job {
	t.Helper()
	j, err := Start(t.Context(), r, hub.URL(), hub.Token(), WithBinary(os.Args[0]), WithLogDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		j.Stop(ctx)
		if t.Failed() {
			logJob(t, j)
		}
	})
	return j
}

// logJob logs a job's output.
func logJob(t *testing.T, j *Job) {
	files, _ := filepath.Glob(filepath.Join(j.Output, "*"))
	if st, err := os.Stat(j.Output); err == nil && !st.IsDir() {
		files = []string{j.Output}
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		t.Logf("%s:\n%s", f, b)
	}
}

// waitJobNodes waits until the job's nodes are ready on client, and returns their IDs; it
// fails the test if the job ends first, or a minute passes.
func waitJobNodes(t *testing.T, client *cluster.Client, j *Job) []string {
	t.Helper()
	var ids []string
	poll(t, time.Minute, fmt.Sprintf("the %d nodes of %s", j.Nodes, j.Name), func() bool {
		select {
		case <-j.Ended():
			t.Fatalf("%s ended with %d of %d nodes joined: %s", j.Name, len(ids), j.Nodes, j.Status())
		default:
		}
		ids = ids[:0]
		for _, n := range client.Nodes() {
			if n.Ready && j.Owns(n.ID) {
				ids = append(ids, n.ID)
			}
		}
		return len(ids) == j.Nodes
	})
	return ids
}

// waitGone waits until the job's nodes have all left the client's list of ready nodes.
func waitGone(t *testing.T, client *cluster.Client, j *Job) {
	t.Helper()
	poll(t, time.Minute, j.Name+"'s nodes to leave the hub", func() bool {
		for _, n := range client.Nodes() {
			if n.Ready && j.Owns(n.ID) {
				return false
			}
		}
		return true
	})
}

// poll checks cond every 20 ms until it holds, and fails the test if it does not within
// timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("waited %v for %s", timeout, what)
		case <-tick.C:
		}
	}
}

// needSlurm starts the one-machine Slurm cluster the tests share, or skips the test.
func needSlurm(t *testing.T) { slurmtest.Need(t) }
