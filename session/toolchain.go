package session

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// tool is an external program a cell magic needs, with the Debian package that provides it.
type tool struct{ cmd, pkg string }

var (
	toolWat2Wasm = tool{"wat2wasm", "wabt"}
	toolClang    = tool{"clang", "clang"}
	toolWasmLd   = tool{"wasm-ld", "lld"}
)

func (t tool) find() (string, error) {
	path, err := exec.LookPath(t.cmd)
	if err != nil {
		return "", failure(kindCompile, "%s is not installed: install Debian's %s (apt-get install %s)", t.cmd, t.pkg, t.pkg)
	}
	return path, nil
}

// compile writes src to a temporary file named name, runs the tool on it, and returns the
// bytes of out.wasm. A failure is a CompileError carrying the tool's diagnostics.
func compile(ctx context.Context, name, src string, argv func(in, out string) []string, tools ...tool) ([]byte, error) {
	var path string
	for i, t := range tools {
		p, err := t.find()
		if err != nil {
			return nil, err
		}
		if i == 0 {
			path = p
		}
	}
	dir, err := os.MkdirTemp("", "rain-cell-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, name), filepath.Join(dir, "out.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, argv(in, out)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		diag := strings.TrimSpace(strings.ReplaceAll(stderr.String(), in, "cell"))
		lines := strings.Split(diag, "\n")
		first := lines[0]
		if diag == "" {
			first = err.Error()
		}
		return nil, &Error{Name: kindCompile, Value: fmt.Sprintf("%s: %s", filepath.Base(path), first), Traceback: lines}
	}
	return os.ReadFile(out)
}

// assembleWAT turns WebAssembly text into a module, keeping names.
func assembleWAT(ctx context.Context, src string) ([]byte, error) {
	return compile(ctx, "cell.wat", src, func(in, out string) []string {
		return []string{"--debug-names", "-o", out, in}
	}, toolWat2Wasm)
}

// compileC compiles C to a module exporting every non-static function, names kept.
func compileC(ctx context.Context, src string, flags []string) ([]byte, error) {
	return compile(ctx, "cell.c", src, func(in, out string) []string {
		args := []string{"--target=wasm32", "-O2", "-nostdlib", "-fvisibility=default",
			"-Wl,--no-entry", "-Wl,--export-dynamic", "-o", out}
		return append(append(args, flags...), in)
	}, toolClang, toolWasmLd)
}
