package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/rain-wasm/rain/internal/jupytertest"
	"github.com/rain-wasm/rain/kernel/protocol"
)

// These tests drive the kernel — this test binary, installed as the "rain" kernelspec in a
// temporary prefix — with real Jupyter clients: jupyter_client, the jupyter_kernel_test
// conformance suite, nbclient and nbconvert, and jupyter console. They use Debian's python3
// (not whatever python3 is first on PATH) and its packages, which scripts/install-deps
// installs: without them the tests are skipped, or fail when $CI is set.

// jupyterEnv installs the kernelspec "rain", running this test binary as the kernel, in a
// temporary prefix, and returns the environment that makes Jupyter find only it.
func jupyterEnv(t *testing.T) []string {
	t.Helper()
	prefix := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Install(InstallOptions{
		Prefix: prefix,
		Argv:   []string{exe, "kernel", "-f", "{connection_file}"},
		Env:    map[string]string{testProcessEnv: "1", "XDG_CACHE_HOME": filepath.Join(prefix, "cache")},
	}); err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Abs("../examples")
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	return append(env,
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(prefix, "data"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(prefix, "config"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(prefix, "runtime"),
		"JUPYTER_PLATFORM_DIRS=0",
		"PYTHONDONTWRITEBYTECODE=1",
		"RAIN_KERNEL_NAME=rain",
		"RAIN_EXAMPLES="+examples,
	)
}

// runPython runs a script under testdata and fails the test with its output if it fails.
func runPython(t *testing.T, py string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", py, strings.Join(args, " "), err, out.String())
	}
	if testing.Verbose() {
		t.Log(out.String())
	}
	return out.String()
}

// TestJupyterClient: every message type through jupyter_client, iopub order, a bad
// signature, interrupts of Starlark and Wasm loops, stdin, restart and shutdown.
func TestJupyterClient(t *testing.T) {
	py := jupytertest.Python(t, "jupyter_client")
	runPython(t, py, jupyterEnv(t), "testdata/test_client.py")
}

// TestConformance runs the jupyter_kernel_test suite; every one of its tests must pass.
func TestConformance(t *testing.T) {
	py := jupytertest.Python(t, "jupyter_kernel_test")
	out := runPython(t, py, jupyterEnv(t), "testdata/test_conformance.py")
	if strings.Contains(out, "skipped") {
		t.Errorf("conformance tests were skipped:\n%s", out)
	}
}

// TestNotebook executes a notebook through the installed kernelspec with nbclient and with
// jupyter nbconvert --execute.
func TestNotebook(t *testing.T) {
	py := jupytertest.Python(t, "nbclient", "nbformat", "nbconvert")
	runPython(t, py, jupyterEnv(t), "testdata/test_notebook.py")
}

// TestConsole runs jupyter console with its input from a pipe.
func TestConsole(t *testing.T) {
	py := jupytertest.Python(t, "jupyter_console")
	env := jupyterEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-m", "jupyter_console", "--kernel=rain", "--simple-prompt", "--no-confirm-exit")
	cmd.Env = env
	cmd.Stdin = strings.NewReader("1+2\nprint(\"hello from \" + \"rain\")\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("jupyter console: %v\n%s", err, out)
	}
	for _, want := range []string{"Out[1]: 3", "hello from rain"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("jupyter console output lacks %q:\n%s", want, out)
		}
	}
}

// TestParentDeath: a kernel whose JPY_PARENT_PID dies exits by itself.
func TestParentDeath(t *testing.T) {
	exe, _ := os.Executable()
	dir := t.TempDir()
	p := freePorts(t, 5)
	conn := protocol.Connection{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], IOPubPort: p[1],
		StdinPort: p[2], ControlPort: p[3], HBPort: p[4], Key: "k", SignatureScheme: "hmac-sha256"}
	b, _ := json.Marshal(conn)
	connFile := filepath.Join(dir, "kernel.json")
	os.WriteFile(connFile, b, 0o600)

	parent := exec.Command("sleep", "60")
	if err := parent.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	k := exec.Command(exe, "kernel", "-f", connFile)
	k.Env = append(os.Environ(), testProcessEnv+"=1", "XDG_CACHE_HOME="+dir, fmt.Sprintf("JPY_PARENT_PID=%d", parent.Process.Pid))
	var log bytes.Buffer
	k.Stderr = &log
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- k.Wait() }()
	waitHeartbeat(t, p[4]) // the kernel is up, and watching its parent
	parent.Process.Kill()
	parent.Wait()
	start := time.Now()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("kernel exited with %v\n%s", err, log.String())
		}
		t.Logf("kernel exited %v after its parent", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		k.Process.Kill()
		t.Fatalf("kernel still running 5 s after its parent died\n%s", log.String())
	}
}

// waitHeartbeat waits until the kernel's heartbeat on port echoes.
func waitHeartbeat(t *testing.T, port int) {
	t.Helper()
	hb := zmq4.NewReq(context.Background(), zmq4.WithDialerRetry(20*time.Millisecond), zmq4.WithDialerMaxRetries(250))
	defer hb.Close()
	if err := hb.Dial(fmt.Sprintf("tcp://127.0.0.1:%d", port)); err != nil {
		t.Fatal(err)
	}
	if err := hb.Send(zmq4.NewMsgString("ping")); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { _, err := hb.Recv(); got <- err }()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat within 10 s")
	}
}
