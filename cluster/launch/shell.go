package launch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rain-wasm/rain/cluster/node"
)

// A node's command line runs on another machine through a shell (a Slurm task, an MPI rank,
// an ssh session): it is rendered once, with node.Command, and quoted word by word, but for two
// words that the shell there fills in: the rain binary it finds, and the node's ID, made of the
// job's name and the node's rank.

// Words of a rendered command that stand for a shell expression, not for themselves. Neither
// is a value a user can give.
const (
	rainWord = "\x00rain"
	idWord   = "RAIN-LAUNCH-NODE-ID" // a valid node ID, so that node.Command takes it
)

// shellQuote makes s one word for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// nodeLine is the shell command that runs one node with settings s, joined to url: rain is
// the shell expression of the rain binary (such as "$rain"), id that of the node's ID (such as
// "slurm-$SLURM_JOB_ID-$SLURM_PROCID", inside double quotes).
func nodeLine(rain, id, url string, s node.Settings) string {
	s.ID = idWord
	argv := node.Command(rainWord, url, s)
	words := make([]string, len(argv))
	for i, a := range argv {
		switch a {
		case rainWord:
			words[i] = rain
		case idWord:
			words[i] = `"` + id + `"`
		default:
			words[i] = shellQuote(a)
		}
	}
	return strings.Join(words, " ")
}

// findRain is a shell snippet that sets $rain to the rain binary on the machine it runs on:
// path, when a user gave it (--rain); else this machine's binary, local, when that machine
// sees it at the same path (a shared file system); else rain on its PATH. With none, it says
// so on stderr and exits 127, as a shell does for a command it cannot find.
func findRain(path, local string) string {
	if path != "" {
		return "rain=" + shellQuote(path) + "; "
	}
	var b strings.Builder
	if local != "" {
		fmt.Fprintf(&b, "if [ -x %s ]; then rain=%s; el", shellQuote(local), shellQuote(local))
	}
	b.WriteString(`if command -v rain >/dev/null 2>&1; then rain=rain; else echo "rain: not found on $(hostname): put rain on the PATH or give --rain PATH" >&2; exit 127; fi; `)
	return b.String()
}

// outputTail is the end of a job's output in one line: its last distinct lines (at most
// three, joined with " · "), without blank lines. Open MPI frames its messages between rules of
// dashes: the lines outside frames are the ones kept; with none, the first paragraph of the
// last frame, its lines joined.
func outputTail(out []byte) string {
	var outside []string
	var frames [][]string // the first paragraph of each frame
	inFrame, para := false, false
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case len(line) >= 10 && strings.Trim(line, "-=*") == "": // a rule
			if !inFrame {
				frames, para = append(frames, nil), true
			}
			inFrame = !inFrame
		case inFrame && line == "":
			para = para && len(frames[len(frames)-1]) == 0
		case inFrame:
			if para {
				frames[len(frames)-1] = append(frames[len(frames)-1], line)
			}
		case line != "":
			outside = append(outside, line)
		}
	}
	var s string
	switch {
	case len(outside) > 0:
		var last []string // the last three distinct lines: many nodes say the same
		for i := len(outside) - 1; i >= 0 && len(last) < 3; i-- {
			if !slices.Contains(last, outside[i]) {
				last = append(last, outside[i])
			}
		}
		slices.Reverse(last)
		s = strings.Join(last, " · ")
	case len(frames) > 0:
		s = strings.Join(frames[len(frames)-1], " ")
	}
	if r := []rune(s); len(r) > 400 {
		s = "…" + string(r[len(r)-399:])
	}
	return s
}

// fileTail is outputTail of a file's end.
func fileTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const most = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > most {
		f.Seek(st.Size()-most, 0)
	}
	b := make([]byte, most)
	n, _ := f.Read(b)
	return outputTail(b[:n])
}

// run runs a command of a scheduler (sbatch, squeue, scancel, ssh) and returns its standard
// output. Its failure is one line: the command's name and the end of what it said.
func run(cmd *exec.Cmd) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	return stdout.Bytes(), commandError(cmd, err, stderr.Bytes())
}

// commandError says in one line why a command failed: it is not installed, or the last lines
// it wrote, without the "NAME: error: " its lines begin with.
func commandError(cmd *exec.Cmd, err error, stderr []byte) error {
	name := filepath.Base(cmd.Args[0])
	if errors.Is(err, exec.ErrNotFound) {
		return &missing{name: name}
	}
	var lines []string
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		l = strings.TrimPrefix(l, name+": error: ")
		l = strings.TrimPrefix(l, name+": ")
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 2 {
		lines = lines[len(lines)-2:]
	}
	if len(lines) == 0 {
		return fmt.Errorf("%s: %v", name, err)
	}
	return fmt.Errorf("%s: %s", name, strings.Join(lines, "; "))
}

// ErrNoCommand is the error of a launch whose scheduler's command (sbatch, mpirun, ssh) is not
// on the PATH.
var ErrNoCommand = errors.New("launch: command not on the PATH")

// missing is ErrNoCommand for one command.
type missing struct{ name, hint string }

func (e *missing) Error() string        { return "no " + e.name + " on the PATH" + e.hint }
func (e *missing) Is(target error) bool { return target == ErrNoCommand }
