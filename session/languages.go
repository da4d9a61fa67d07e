package session

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rain-wasm/rain/wasm"
)

// language is how a cell magic turns a cell into a module: the tools it runs and their
// arguments. The compiler runs them in a temporary directory that holds the cell as file.
type language struct {
	magic string // the cell magic: %%rust
	file  string // the cell's file: "cell.rs"
	tools []tool // the first is the compiler, whose name errors carry
	// wrap returns the build directory's files; nil writes the cell alone, as file.
	wrap func(src string) map[string]string
	// argv is the compiler's arguments, given the user's flags; the module is out.wasm.
	argv func(flags []string) []string
	env  []string       // added to the compiler's environment
	drop *regexp.Regexp // lines of the compiler's output that say nothing to a user
	// resident, when set, runs the compiler as a resident process (argv from the tools'
	// paths) instead of once per cell.
	resident func(paths []string) []string
	// exports says how the language exports a function, for a cell that exports none; ""
	// accepts a module without exports.
	exports string
}

func (l *language) files(src string) map[string]string {
	if l.wrap != nil {
		return l.wrap(src)
	}
	return map[string]string{l.file: src}
}

var (
	langWAT = &language{
		magic: "wat", file: "cell.wat",
		tools: []tool{debian("wat2wasm", "wabt")},
		argv: func(flags []string) []string {
			return append(append([]string{"--debug-names", "-o", "out.wasm"}, flags...), "cell.wat")
		},
	}

	langC = &language{
		magic: "c", file: "cell.c",
		tools: []tool{debian("clang", "clang"), debian("wasm-ld", "lld")},
		argv: func(flags []string) []string {
			args := []string{"--target=wasm32", "-O2", "-nostdlib", "-fvisibility=default",
				"-Wl,--no-entry", "-Wl,--export-dynamic", "-o", "out.wasm"}
			return append(append(args, flags...), "cell.c")
		},
		exports: "a function that is not static",
	}

	// Go: a reactor for WASI (its runtime starts in _initialize), the cell's functions marked
	// //go:wasmexport. The cell may leave out the package clause and main: they are added,
	// with a //line directive that keeps the cell's line numbers.
	langGo = &language{
		magic: "go", file: "cell.go",
		tools: []tool{{
			cmd: "go", install: "Go 1.24 or newer (the Go that builds Rain; Debian's golang-go is older)",
			version: goVersion,
		}},
		wrap: wrapGo,
		argv: func(flags []string) []string {
			args := []string{"build", "-trimpath", "-buildmode=c-shared", "-o", "out.wasm"}
			return append(append(args, flags...), ".")
		},
		env: []string{"GOOS=wasip1", "GOARCH=wasm", "GOTOOLCHAIN=local", "GOFLAGS=", "GOWORK=off",
			"GOPROXY=off", "CGO_ENABLED=0"},
		drop:    regexp.MustCompile(`^# cell$`),
		exports: "mark a function //go:wasmexport NAME",
	}

	// Rust: Debian's rustc, by its path (a rustup rustc without the wasm32 target may come
	// first on the PATH), with Debian's wasm32 standard library. A parameter Wasm cannot
	// carry (String, &str, a struct without #[repr(C)]) is an error, not a warning.
	langRust = &language{
		magic: "rust", file: "cell.rs",
		tools: []tool{{
			cmd: "rustc", paths: []string{"/usr/bin/rustc"},
			install: "Debian's rustc and libstd-rust-dev-wasm32 (apt-get install rustc libstd-rust-dev-wasm32)",
			version: rustVersion,
		}},
		argv: func(flags []string) []string {
			args := []string{"--target", "wasm32-unknown-unknown", "--crate-type", "cdylib", "-O",
				"-C", "strip=debuginfo", "--color", "never", "-D", "improper_ctypes_definitions", "-o", "out.wasm"}
			return append(append(args, flags...), "cell.rs")
		},
		exports: `write #[no_mangle] pub extern "C" fn`,
	}

	// TypeScript: AssemblyScript's compiler from the npm registry, installed in the source
	// tree by scripts/install-deps (scripts/asc, pinned in its package-lock.json), kept running
	// by the session. abort() traps instead of calling an import, so a module imports nothing.
	langTS = &language{
		magic: "ts", file: "cell.ts",
		tools: []tool{{
			cmd: "asc", project: filepath.Join("scripts", "asc", "node_modules", ".bin", "asc"),
			install: "the npm package assemblyscript into scripts/asc: run scripts/install-deps",
			version: ascVersion,
		}, {
			cmd: "node", install: "Node.js with npm (apt-get install nodejs npm, where no Node.js is installed)",
		}},
		argv: func(flags []string) []string {
			args := []string{"cell.ts", "-O3", "--use", "abort=", "-o", "out.wasm"}
			return append(args, flags...)
		},
		resident: func(paths []string) []string {
			asc := filepath.Dir(filepath.Dir(filepath.Dir(paths[0]))) // scripts/asc
			return []string{paths[1], filepath.Join(asc, "compile.mjs")}
		},
		exports: "write export function",
	}
)

// goPackage and goMain find a Go cell's package clause and main function.
var (
	goPackage = regexp.MustCompile(`(?m)^package\s+\w+`)
	goMain    = regexp.MustCompile(`(?m)^func\s+main\s*\(`)
)

// wrapGo makes a Go cell a main package of a module of its own.
func wrapGo(src string) map[string]string {
	if !goPackage.MatchString(src) {
		src = "package main\n//line cell.go:1:1\n" + src
	}
	if !goMain.MatchString(src) {
		src += "\n\nfunc main() {}\n"
	}
	return map[string]string{"go.mod": "module cell\n\ngo 1.24\n", "cell.go": src}
}

// goVersion is the Go toolchain's version, which must know //go:wasmexport (Go 1.24).
func goVersion(ctx context.Context, path string) (string, error) {
	v, err := runVersion(ctx, path, "env", "GOVERSION")
	if err != nil {
		return "", err
	}
	var major, minor int
	if _, err := fmt.Sscanf(v, "go%d.%d", &major, &minor); err == nil && (major < 1 || major == 1 && minor < 24) {
		return "", usageError("%s is %s: Go 1.24 or newer builds //go:wasmexport", path, v)
	}
	return v, nil
}

// rustVersion is rustc's version, once it is known to have Rust's standard library for wasm32.
func rustVersion(ctx context.Context, path string) (string, error) {
	sysroot, err := runVersion(ctx, path, "--print", "sysroot")
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(filepath.Join(sysroot, "lib", "rustlib", "wasm32-unknown-unknown", "lib")); err != nil || !st.IsDir() {
		return "", usageError("%s has no standard library for wasm32: install Debian's libstd-rust-dev-wasm32 (apt-get install libstd-rust-dev-wasm32)", path)
	}
	return runVersion(ctx, path, "-vV")
}

// ascVersion is the version of the assemblyscript package that path (node_modules/.bin/asc)
// belongs to, read from its package.json rather than by starting the compiler.
func ascVersion(ctx context.Context, path string) (string, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(path)), "assemblyscript", "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", err
	}
	return "assemblyscript " + pkg.Version, nil
}

// allocator names the exports a module has for Rain's use rather than the user's.
var allocator = map[string]bool{"_initialize": true, "_start": true, "malloc": true, "free": true, "cabi_realloc": true}

// checkExports refuses a compiled cell that exports no function of the user's.
func checkExports(lang *language, mod *wasm.Module) error {
	if lang.exports == "" {
		return nil
	}
	for _, e := range mod.Exports {
		if e.Kind == "func" && !allocator[e.Name] {
			return nil
		}
	}
	return usageError("the %%%%%s cell exports no function: %s", lang.magic, lang.exports)
}

// runResident runs a resident language's compiler, starting it if needed.
func (c *compiler) runResident(ctx context.Context, lang *language, paths []string, dir string, argv []string) (string, bool, error) {
	c.mu.Lock()
	r := c.resident
	want := lang.resident(paths)
	if r == nil || strings.Join(r.argv, "\x00") != strings.Join(want, "\x00") {
		if r != nil {
			r.close()
		}
		r = &resident{argv: want}
		c.resident = r
	}
	c.mu.Unlock()
	return r.run(ctx, dir, argv)
}
