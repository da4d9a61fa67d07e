package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rain-wasm/rain/cluster"
)

// natsMaxPayload is the test cluster's max_payload: smaller than hello.wasm (33 KiB), so that
// modules reach nodes in chunks cut to fit a server Rain did not configure.
const natsMaxPayload = 16 << 10

// startNATSCluster starts two NATS servers in this process, A and B, joined by a route, that
// ask clients for token, and returns their client URLs once the route is up on both. They
// stop when the test ends.
func startNATSCluster(t *testing.T, token string) (a, b string) {
	t.Helper()
	start := func(name string, routes []*url.URL) *server.Server {
		srv, err := server.NewServer(&server.Options{
			ServerName:    name,
			Host:          "127.0.0.1",
			Port:          -1,
			Authorization: token,
			MaxPayload:    natsMaxPayload,
			NoLog:         true,
			NoSigs:        true,
			Cluster:       server.ClusterOpts{Name: "rain-test", Host: "127.0.0.1", Port: -1},
			Routes:        routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		t.Cleanup(srv.Shutdown)
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatalf("NATS server %s not ready", name)
		}
		return srv
	}
	srvA := start("A", nil)
	srvB := start("B", []*url.URL{{Scheme: "nats", Host: srvA.ClusterAddr().String()}})
	deadline := time.Now().Add(10 * time.Second)
	for srvA.NumRoutes() == 0 || srvB.NumRoutes() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the two NATS servers did not form a cluster")
		}
		time.Sleep(10 * time.Millisecond) // polling the route's state: nats-server has no event for it
	}
	return srvA.ClientURL(), srvB.ClientURL()
}

// startNodes starts n `rain node` processes joined to url, until the test ends.
func startNodes(t *testing.T, env []string, n int, url, token string) {
	t.Helper()
	for range n {
		node := exec.Command(rainBin, "node", "--join", url, "--token", token, "--cache-dir", t.TempDir())
		node.Env = env
		if err := node.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Process.Kill(); node.Wait() })
	}
}

// TestExternalNATS: a session uses a NATS cluster of two servers joined by a route, with token
// authorization, instead of its embedded hub. With nodes joined to server A and the session
// on server B every message crosses the route; with --nodes, the session's local nodes join
// the URL given. A module larger than the servers' max payload is shipped, a map's results
// come back right, and %cluster prints the line that joins a node to the cluster.
func TestExternalNATS(t *testing.T) {
	const token = "s3cret"
	script := filepath.Join(t.TempDir(), "external.star")
	os.WriteFile(script, []byte(`%cluster
# %%
%load examples/basics.wasm as b
%load examples/hello.wasm as h
h.greet(2)
r = pmap(b.add, [(i, 1000) for i in range(300)], chunk=10)
if list(r) != [i + 1000 for i in range(300)]: fail("wrong results: %s" % list(r)[:20])
if len(r.errors) != 0 or r.retried != 0: fail("errors %s, retried %d" % (r.errors, r.retried))
print("results", len(r), "nodes", len(r.per_node))
`), 0o644)
	for _, tt := range []struct {
		name          string
		remote, local int // nodes joined to server A; the session's local nodes (--nodes)
	}{
		{"nodes on A, session on B", 2, 0},
		{"local nodes join B", 0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(t)
			a, b := startNATSCluster(t, token)
			if tt.remote > 0 {
				startNodes(t, env, tt.remote, a, token)
				// Wait from B until the nodes are ready: their status crossed the route.
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c, err := cluster.Connect(ctx, b, token)
				if err != nil {
					t.Fatal(err)
				}
				err = c.WaitNodes(ctx, tt.remote)
				c.Close()
				if err != nil {
					t.Fatalf("the nodes on A were not seen from B: %v", err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, rainBin, "run", "--nats", b, "--token", token, "--nodes", fmt.Sprint(tt.local), script)
			cmd.Dir = repoRoot(t)
			cmd.Env = env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("rain run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			for _, want := range []string{
				"hub: " + b + " (external, not started by this session)",
				"join a node:  rain node --join " + b + " --token " + token,
				"hello 2 from wasm",
				"results 300 nodes ",
			} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

// TestExternalNATSErrors: a wrong token, an unreachable server and a bad URL each end `rain
// run` with exit code 1 and one line that says so, never a Go panic.
func TestExternalNATSErrors(t *testing.T) {
	_, b := startNATSCluster(t, "s3cret")
	closed, err := net.Listen("tcp", "127.0.0.1:0") // a port where no server listens
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "nats://" + closed.Addr().String()
	closed.Close()
	script := filepath.Join(t.TempDir(), "empty.star")
	os.WriteFile(script, nil, 0o644)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong token", []string{"--nats", b, "--token", "wrong"}, "rain: session: " + b + " refused the token: give the hub's token with --token or $RAIN_TOKEN\n"},
		{"no token", []string{"--nats", b, "--token", ""}, "rain: session: " + b + " refused the token"},
		{"unreachable", []string{"--nats", unreachable, "--token", "s3cret"}, "rain: session: cannot reach a NATS server at " + unreachable + ": "},
		{"bad scheme", []string{"--nats", "http://127.0.0.1:4222"}, `rain: session: bad NATS URL "http://127.0.0.1:4222": the scheme must be nats, tls, ws or wss` + "\n"},
		{"bad host", []string{"--nats", "nats://no host"}, `rain: session: bad NATS URL "nats://no host": use nats://HOST:PORT` + "\n"},
		{"--nats and --join", []string{"--nats", b, "--join", unreachable}, "rain: --nats " + b + " and --join " + unreachable + ": give one of them\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(rainBin, append(append([]string{"run", "--nodes", "0"}, tt.args...), script)...)
			cmd.Env = testEnv(t)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("want exit code 1, got %v\nstderr:\n%s", err, stderr.String())
			}
			got := stderr.String()
			if !strings.HasPrefix(got, tt.want) || strings.Count(got, "\n") != 1 {
				t.Errorf("stderr is %q, want one line starting %q", got, tt.want)
			}
		})
	}
}

// TestInstallNATS: rain install --nats writes a kernelspec whose kernel uses that NATS server,
// with the token in its environment; a bad URL is refused before anything is written.
func TestInstallNATS(t *testing.T) {
	for _, tt := range []struct {
		name     string
		args     []string
		wantArgs []string // after "-f {connection_file}"
		wantEnv  map[string]string
		wantErr  string
	}{
		{"nats, token and nodes", []string{"--nats", "nats://a:4222,nats://b:4222", "--token", "s3cret", "--nodes", "0"},
			[]string{"--nats", "nats://a:4222,nats://b:4222", "--nodes", "0"}, map[string]string{"RAIN_TOKEN": "s3cret"}, ""},
		{"nats only", []string{"--nats", "nats://a:4222"}, []string{"--nats", "nats://a:4222"}, nil, ""},
		{"default", nil, nil, nil, ""},
		{"memory limit", []string{"--memory-limit", "512MiB"}, []string{"--memory-limit", "512 MiB"}, nil, ""},
		{"bad memory limit", []string{"--memory-limit", "512"}, nil, nil, `rain: invalid value "512" for flag -memory-limit`},
		{"bad URL", []string{"--nats", "http://a:4222"}, nil, nil, `rain: session: bad NATS URL "http://a:4222"`},
		{"token alone", []string{"--token", "s3cret"}, nil, nil, "rain: install: --token goes with --nats URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prefix := t.TempDir()
			cmd := exec.Command(rainBin, append([]string{"install", "--prefix", prefix}, tt.args...)...)
			cmd.Env = testEnv(t)
			out, err := cmd.CombinedOutput()
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(string(out), tt.wantErr) {
					t.Fatalf("rain install %v: %v, printed %q; want an error starting %q", tt.args, err, out, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("rain install %v: %v\n%s", tt.args, err, out)
			}
			b, err := os.ReadFile(filepath.Join(prefix, "share/jupyter/kernels/rain/kernel.json"))
			if err != nil {
				t.Fatal(err)
			}
			var spec struct {
				Argv []string          `json:"argv"`
				Env  map[string]string `json:"env"`
			}
			if err := json.Unmarshal(b, &spec); err != nil {
				t.Fatal(err)
			}
			if len(spec.Argv) < 4 || spec.Argv[1] != "kernel" || spec.Argv[3] != "{connection_file}" ||
				!slices.Equal(spec.Argv[4:], tt.wantArgs) || !maps.Equal(spec.Env, tt.wantEnv) {
				t.Errorf("kernel.json: argv %q, env %v; want the kernel command then %q, env %v", spec.Argv, spec.Env, tt.wantArgs, tt.wantEnv)
			}
		})
	}
}
