package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// tool is an external program a cell magic runs, found on the machine, with what to install
// when it is missing.
type tool struct {
	cmd     string   // the program's name, looked up on the PATH: "clang"
	paths   []string // absolute paths tried before the PATH: Debian's rustc, /usr/bin/rustc
	project string   // else a path in Rain's source tree (scripts/asc/...), tried above the working directory and the executable
	install string   // what a user installs when it is missing: "Debian's clang (apt-get install clang)"
	// version names the tool's version for the cache of built cells; nil runs it with --version.
	// An error says that the tool cannot build cells (a rustc without Rust's wasm32 library).
	version func(ctx context.Context, path string) (string, error)
}

// debian is a tool that a Debian package provides, on the PATH.
func debian(cmd, pkg string) tool {
	return tool{cmd: cmd, install: fmt.Sprintf("Debian's %s (apt-get install %s)", pkg, pkg)}
}

// find returns the tool's path, or one line saying what to install.
func (t tool) find() (string, error) {
	for _, p := range t.paths {
		if isFile(p) {
			return p, nil
		}
	}
	if t.project != "" {
		if p := findInProject(t.project); p != "" {
			return p, nil
		}
	}
	if p, err := exec.LookPath(t.cmd); err == nil {
		return p, nil
	}
	return "", failure(kindCompile, "%s is not installed: install %s", t.cmd, t.install)
}

// findInProject looks for rel (a path in Rain's source tree) in the directories above the
// working directory and above this executable (bin/rain in a checkout), nearest first.
func findInProject(rel string) string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, dir := range starts {
		for {
			if p := filepath.Join(dir, rel); isFile(p) {
				return p
			}
			up := filepath.Dir(dir)
			if up == dir {
				break
			}
			dir = up
		}
	}
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// compiler builds cells into modules for the cell magics: it finds a language's tools, runs
// them in a temporary directory, cleans their diagnostics into one error block, and keeps each
// module it built in a cache on disk, addressed by the cell's files, the compiler's arguments
// and the tools' versions, so that an unchanged cell is not compiled again (across sessions
// too). A session has one; it is safe for concurrent use.
type compiler struct {
	cacheDir string // "" keeps nothing

	mu       sync.Mutex
	versions map[string]string // by tool path, size and modification time
	resident *resident         // the AssemblyScript compiler, started by the first %%ts cell
	builds   int               // how many cells were built rather than found in the cache
}

func newCompiler(cacheDir string) *compiler {
	return &compiler{cacheDir: cacheDir, versions: map[string]string{}}
}

// defaultCellCache is where built cells are kept unless WithCellCache says otherwise.
func defaultCellCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "rain", "cells")
}

// close stops the resident compilers.
func (c *compiler) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resident != nil {
		c.resident.close()
		c.resident = nil
	}
}

// build turns a cell's source into a module with lang's tools, or takes it from the cache.
// A compiler's failure is a CompileError whose traceback is the compiler's own messages, with
// the cell's line numbers and no temporary paths.
func (c *compiler) build(ctx context.Context, lang *language, src string, flags []string) ([]byte, error) {
	paths := make([]string, len(lang.tools))
	versions := make([]string, len(lang.tools))
	for i, t := range lang.tools {
		p, err := t.find()
		if err != nil {
			return nil, err
		}
		v, err := c.version(ctx, t, p)
		if err != nil {
			return nil, err
		}
		paths[i], versions[i] = p, v
	}
	files := lang.files(src)
	argv := lang.argv(flags)
	key := cacheKey(lang.magic, versions, argv, files)
	if bin, ok := c.cached(key); ok {
		return bin, nil
	}
	dir, err := os.MkdirTemp("", "rain-cell-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	var out string
	var failed bool
	if lang.resident != nil {
		out, failed, err = c.runResident(ctx, lang, paths, dir, argv)
	} else {
		out, failed, err = runTool(ctx, paths[0], dir, argv, lang.env)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.builds++
	c.mu.Unlock()
	if failed {
		return nil, compileError(paths[0], cleanDiagnostics(out, dir, lang.file, lang.drop))
	}
	bin, err := os.ReadFile(filepath.Join(dir, "out.wasm"))
	if err != nil {
		return nil, fmt.Errorf("%s made no module: %w", filepath.Base(paths[0]), err)
	}
	c.keep(key, bin)
	return bin, nil
}

// runTool runs a compiler in dir and returns what it printed; failed is a non-zero exit.
func runTool(ctx context.Context, path, dir string, argv, env []string) (out string, failed bool, err error) {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, path, argv...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	err = cmd.Run()
	if ctx.Err() != nil {
		return "", false, ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if buf.Len() == 0 {
			buf.WriteString(err.Error())
		}
		return buf.String(), true, nil
	}
	return buf.String(), false, err
}

// version is a tool's version, asked once per session and binary.
func (c *compiler) version(ctx context.Context, t tool, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	id := fmt.Sprintf("%s %d %d", path, st.Size(), st.ModTime().UnixNano())
	c.mu.Lock()
	v, ok := c.versions[id]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	if t.version != nil {
		v, err = t.version(ctx, path)
	} else {
		v, err = runVersion(ctx, path, "--version")
	}
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.versions[id] = v
	c.mu.Unlock()
	return v, nil
}

// runVersion runs path with args and returns the first line it printed.
func runVersion(ctx context.Context, path string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", filepath.Base(path), strings.Join(args, " "), err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line, nil
}

// cacheKey addresses a build: the magic, the tools' versions, the compiler's arguments and
// every file of the build directory.
func cacheKey(magic string, versions, argv []string, files map[string]string) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	field(magic)
	for _, v := range versions {
		field(v)
	}
	for _, a := range argv {
		field(a)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		field(name)
		field(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheLimit bounds the cache of built cells: past it, the modules used least recently go (a
// Go cell's module is about 2 MiB).
const cacheLimit = 256 << 20

func (c *compiler) cached(key string) ([]byte, bool) {
	if c.cacheDir == "" {
		return nil, false
	}
	path := filepath.Join(c.cacheDir, key+".wasm")
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	now := time.Now()
	os.Chtimes(path, now, now) // used: the last to go
	return bin, true
}

// prune removes the modules used least recently until the cache holds at most limit bytes.
func (c *compiler) prune(limit int64) {
	entries, err := os.ReadDir(c.cacheDir)
	if err != nil {
		return
	}
	type file struct {
		path string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !strings.HasSuffix(e.Name(), ".wasm") {
			continue
		}
		files = append(files, file{filepath.Join(c.cacheDir, e.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	slices.SortFunc(files, func(a, b file) int { return a.used.Compare(b.used) })
	for _, f := range files {
		if total <= limit {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}

// keep stores a built module; a cache that cannot be written only costs a build next time.
func (c *compiler) keep(key string, bin []byte) {
	if c.cacheDir == "" || os.MkdirAll(c.cacheDir, 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(c.cacheDir, key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := f.Write(bin)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), filepath.Join(c.cacheDir, key+".wasm")) != nil {
		os.Remove(f.Name())
		return
	}
	c.prune(cacheLimit)
}

// ansi matches a terminal's colour and style sequences.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// cleanDiagnostics turns a compiler's output into what a user reads: no colours, no
// temporary directory, the cell's file called "cell" (cell:3:5), and no line that drop matches
// (go build's "# package" header).
func cleanDiagnostics(out, dir, file string, drop *regexp.Regexp) []string {
	out = ansi.ReplaceAllString(out, "")
	out = strings.ReplaceAll(out, dir+string(filepath.Separator), "")
	out = strings.ReplaceAll(out, dir, ".")
	fileName := regexp.MustCompile(`(\./)?\b` + regexp.QuoteMeta(file) + `\b`)
	out = fileName.ReplaceAllString(out, "cell")
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n "), "\n") {
		if drop != nil && drop.MatchString(l) {
			continue
		}
		lines = append(lines, strings.TrimRight(l, " \r"))
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	return lines
}

// compileError is one error block: its line is the compiler's first error message, its
// traceback all that the compiler said.
func compileError(path string, lines []string) *Error {
	first := ""
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), "error") {
			first = strings.TrimSpace(l)
			break
		}
	}
	if first == "" && len(lines) > 0 {
		first = strings.TrimSpace(lines[0])
	}
	return &Error{Name: "CompileError", Value: fmt.Sprintf("%s: %s", filepath.Base(path), first), Traceback: lines}
}
