//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSoakShort runs the soak for 15 s with a node killed every 2 s: every result comes back
// once and right.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15 s soak")
	}
	rain := filepath.Join(t.TempDir(), "rain")
	build := exec.Command("go", "build", "-o", rain, "../../cmd/rain")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, config{rain: rain, examples: "../../examples", duration: 15 * time.Second, nodes: 3, sessions: 2,
		kill: 2 * time.Second, size: 20_000, every: 5 * time.Second}, &out)
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, out.String())
	}
	for _, want := range []string{"results lost         0\n", "results duplicated   0\n", "ok: every result came back once and right"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the soak's figures lack %q:\n%s", want, out.String())
		}
	}
	if testing.Verbose() {
		os.Stdout.Write(out.Bytes())
	}
}
