package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster"
)

// TestArm64NodeUnderQemu: the linux/arm64 build of rain, run by qemu-user as `rain node`,
// joins an amd64 hub next to an amd64 node; the session lists it as linux/arm64 with its engine, and
// a map spreads over both. Its worker runs under qemu too (--worker-cmd), as re-executing
// itself needs binfmt_misc, which a container rarely has.
func TestArm64NodeUnderQemu(t *testing.T) {
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("qemu-aarch64-static missing (scripts/install-deps installs qemu-user-static)")
		}
		t.Skip("qemu-aarch64-static missing: install qemu-user-static (scripts/install-deps) to run the arm64 node test")
	}
	if testing.Short() {
		t.Skip("builds rain for arm64 and runs it under qemu: not with -short")
	}
	arm := filepath.Join(t.TempDir(), "rain-linux-arm64")
	build := exec.Command("go", "build", "-o", arm, ".")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build for linux/arm64: %v\n%s", err, out)
	}

	env := testEnv(t)
	url := startHub(t, env, "qemu")

	logs := t.TempDir()
	start := func(name string, argv ...string) {
		argv = append(argv, "node", "--join", url, "--token", "qemu", "--cache-dir", t.TempDir())
		if name == "arm64" {
			argv = append(argv, "--worker-cmd", qemu+" "+arm)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		log, _ := os.Create(filepath.Join(logs, name+".log"))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); log.Close() })
	}
	start("amd64", rainBin)
	start("arm64", qemu, arm)

	// %cluster names both nodes' platforms after the map: the line that %cluster connect
	// prints may name only the node that answered first, the emulated one being slow to.
	script := filepath.Join(t.TempDir(), "qemu.star")
	os.WriteFile(script, []byte(fmt.Sprintf(`%%cluster connect %s qemu
%%load examples/primes.wasm as p
# Both nodes have the module ready (the emulated one takes a while) before the map starts.
broadcast(p.count_primes, 20000)
r = pmap(p.count_primes, [20000 + i for i in range(400)], chunk=5)
if len(r) != 400 or r[0] != p.count_primes(20000): fail("map: %%d results" %% len(r))
print("spread over", len(r.per_node), "nodes")
%%cluster
`, url)), 0o644)
	// The arm64 node starts slowly under qemu: wait until the hub has both nodes ready.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	c, err := cluster.Connect(ctx, url, "qemu")
	if err != nil {
		t.Fatal(err)
	}
	err = c.WaitNodes(ctx, 2)
	c.Close()
	if err != nil {
		logb, _ := os.ReadFile(filepath.Join(logs, "arm64.log"))
		t.Fatalf("the two nodes: %v\narm64 node log:\n%s", err, logb)
	}
	cmd := exec.Command(rainBin, "run", "--nodes", "0", script)
	cmd.Dir = repoRoot(t)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	text := string(b)
	if err != nil || !strings.Contains(text, "linux/arm64") || !strings.Contains(text, "linux/amd64") {
		logb, _ := os.ReadFile(filepath.Join(logs, "arm64.log"))
		t.Fatalf("rain run: %v\n%s\narm64 node log:\n%s", err, text, logb)
	}
	t.Logf("%s", text)
	if !regexp.MustCompile(`linux/arm64, (compiler|interpreter)`).MatchString(text) {
		t.Errorf("the session does not give the arm64 node's engine:\n%s", text)
	}
	if !strings.Contains(text, "spread over 2 nodes") {
		t.Errorf("the map did not spread over both nodes:\n%s", text)
	}
}
