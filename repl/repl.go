package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/chzyer/readline"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/session"
)

// Option configures the REPL.
type Option func(*options)

type options struct {
	stdin       io.ReadCloser
	stdout      io.Writer
	stderr      io.Writer
	historyFile string
	color       bool
	preload     []string
}

// WithPreload runs cells before the first prompt, as if typed (e.g. "%load m.wasm").
func WithPreload(cells ...string) Option {
	return func(o *options) { o.preload = append(o.preload, cells...) }
}

// WithIO sets the REPL's terminal. The default is the process's stdin, stdout and stderr.
func WithIO(in io.ReadCloser, out, errOut io.Writer) Option {
	return func(o *options) { o.stdin, o.stdout, o.stderr = in, out, errOut }
}

// WithHistoryFile sets where history is kept across sessions. The default is
// history under the user's cache directory (~/.cache/rain/history); "" keeps none.
func WithHistoryFile(path string) Option {
	return func(o *options) { o.historyFile = path }
}

// WithColor turns colours on or off. The default is on when stdout is a terminal and
// NO_COLOR is unset.
func WithColor(on bool) Option {
	return func(o *options) { o.color = on }
}

// DefaultHistoryFile is ~/.cache/rain/history (or the OS's cache directory).
func DefaultHistoryFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "rain", "history")
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && readline.IsTerminal(int(f.Fd()))
}

// Colorful reports whether f is a terminal and NO_COLOR is unset.
func Colorful(f *os.File) bool {
	_, noColor := os.LookupEnv("NO_COLOR")
	return !noColor && readline.IsTerminal(int(f.Fd()))
}

// Run reads cells, runs them in s and prints what they give until end of input (Ctrl-D).
// Ctrl-C while a cell runs interrupts it (the session keeps its state); at the prompt it
// discards the line being typed.
func Run(ctx context.Context, s *session.Session, banner string, opts ...Option) error {
	o := options{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, historyFile: DefaultHistoryFile(), color: Colorful(os.Stdout)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.historyFile != "" {
		os.MkdirAll(filepath.Dir(o.historyFile), 0o755)
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            prompt(1, o.color),
		HistoryFile:       o.historyFile,
		HistorySearchFold: true,
		AutoComplete:      completer{s},
		InterruptPrompt:   "^C",
		EOFPrompt:         "",
		Stdin:             o.stdin,
		Stdout:            o.stdout,
		Stderr:            o.stderr,
	})
	if err != nil {
		return fmt.Errorf("repl: %w", err)
	}
	defer rl.Close()

	out := &printer{stdout: rl.Stdout(), stderr: rl.Stderr(), color: o.color, redraw: o.color || isTerminal(o.stdout), prompt: true}
	out.input = func(p string, password bool) (string, error) {
		if password {
			b, err := rl.ReadPassword(p)
			return string(b), err
		}
		old := rl.Config.Prompt
		defer rl.SetPrompt(old)
		rl.SetPrompt(p)
		return rl.Readline()
	}
	if banner != "" {
		fmt.Fprintln(rl.Stdout(), banner)
	}
	for _, cell := range o.preload {
		runCell(ctx, s, cell, out, o.color)
	}
	for n := 1; ; {
		cell, err := readCell(rl, s, n, o.color)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil {
			return fmt.Errorf("repl: %w", err)
		}
		if strings.TrimSpace(cell) == "" {
			continue
		}
		runCell(ctx, s, cell, out, o.color)
		n++
	}
}

// readCell reads lines until the session says the cell is complete.
func readCell(rl *readline.Instance, s *session.Session, n int, color bool) (string, error) {
	rl.SetPrompt(prompt(n, color))
	var lines []string
	indent := ""
	for {
		line, err := rl.ReadlineWithDefault(indent)
		if err != nil {
			if errors.Is(err, io.EOF) && len(lines) > 0 {
				return strings.Join(lines, "\n"), nil
			}
			return "", err
		}
		lines = append(lines, line)
		cell := strings.Join(lines, "\n")
		status, ind := s.IsComplete(cell)
		if status != "incomplete" {
			return cell, nil
		}
		indent = ind
		rl.SetPrompt(continuation(n, color))
	}
}

// runCell runs one cell with Ctrl-C wired to its context, and prints its value or error.
func runCell(ctx context.Context, s *session.Session, cell string, out *printer, color bool) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	var exec session.Output = out
	if out.prompt {
		exec = prompted{out}
	}
	v, err := s.Exec(ctx, cell, exec)
	defer out.endCell()
	if err != nil {
		out.error(err)
		return
	}
	if v != nil {
		out.value(display.Terminal(v, color))
	}
}

func prompt(n int, color bool) string {
	p := fmt.Sprintf("[%d] ", n)
	if color {
		return display.Renderer(true).NewStyle().Foreground(lipgloss.Color("10")).Bold(true).Render(p)
	}
	return p
}

func continuation(n int, color bool) string {
	w := len(fmt.Sprintf("[%d] ", n))
	return strings.Repeat(" ", w-4) + "... "
}

// completer adapts the session's completion to readline.
type completer struct{ s *session.Session }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	code := string(line[:pos])
	matches, start, _ := c.s.Complete(code, len(code))
	typed := []rune(code[start:])
	var out [][]rune
	for _, m := range matches {
		r := []rune(m)
		if len(r) >= len(typed) && string(r[:len(typed)]) == string(typed) {
			out = append(out, r[len(typed):])
		}
	}
	return out, len(typed)
}
