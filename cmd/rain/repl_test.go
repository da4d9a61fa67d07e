package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// term is the REPL running in a pseudo-terminal: keys go in, the screen's text comes out.
type term struct {
	t    *testing.T
	cmd  *exec.Cmd
	f    *os.File
	mu   sync.Mutex
	buf  bytes.Buffer
	seen int           // bytes of the screen's text already matched
	more chan struct{} // gets a value when text has come since the last receive
}

func startREPL(t *testing.T, env []string, args ...string) *term {
	t.Helper()
	cmd := exec.Command(rainBin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, cmd: cmd, f: f, more: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			tm.mu.Lock()
			tm.buf.Write(b[:n])
			tm.mu.Unlock()
			select {
			case tm.more <- struct{}{}:
			default: // expect has yet to read the previous text
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	})
	return tm
}

func (tm *term) send(keys string) {
	if _, err := tm.f.Write([]byte(keys)); err != nil {
		tm.t.Fatal(err)
	}
}

// expect waits for text matching re to appear after what was matched before.
func (tm *term) expect(re string, within time.Duration) string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	for {
		tm.mu.Lock()
		screen := stripANSI(tm.buf.String())
		tm.mu.Unlock()
		if loc := rx.FindStringIndex(screen[tm.seen:]); loc != nil {
			match := screen[tm.seen+loc[0] : tm.seen+loc[1]]
			tm.seen += loc[1]
			return match
		}
		select {
		case <-tm.more:
		case <-timeout.C:
			tm.t.Fatalf("no %q within %s; the screen since the last match:\n%s", re, within, screen[tm.seen:])
		}
	}
}

// atPrompt waits until readline reads the terminal key by key, as it does at its prompt: only
// then does a key like Ctrl-D reach it (the terminal driver takes it, in line mode, for the
// end of the input). readline draws its prompt a moment before.
func (tm *term) atPrompt() {
	tm.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cooked, err := canonical(tm.f)
		if err != nil {
			tm.t.Fatal(err)
		}
		if !cooked {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatal("the terminal stayed in line mode for 5 s: readline is not reading")
		}
		time.Sleep(time.Millisecond) // between checks of the terminal's mode itself
	}
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\r`)

func stripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

func TestREPL(t *testing.T) {
	started := t.TempDir() // where testdata/started.wasm's calls say they have started
	tm := startREPL(t, testEnv(t), "--no-history", "--dir", started+":/started")
	tm.expect(`2 nodes \(2× linux/\w+, (compiler|interpreter)\)`, 20*time.Second)
	tm.expect(`\[1\] `, 5*time.Second)

	tm.send("%load examples/basics.wasm as b\r")
	tm.expect(`b: 14 exports · \d+ functions · .* ready on 2 nodes`, 10*time.Second)
	tm.send("b.fib(25)\r")
	tm.expect(`75025`, 10*time.Second)

	// Ctrl-C stops an infinite loop within a second and keeps the session's state.
	tm.send("%load cmd/rain/testdata/started.wasm as s\r")
	tm.expect(`s: 2 exports · .* ready on 2 nodes`, 10*time.Second)
	tm.send("s.spin()\r")
	waitFile(t, filepath.Join(started, "spin"), 10*time.Second) // the call runs on a node
	start := time.Now()
	tm.send("\x03")
	tm.expect(`Interrupted`, 2*time.Second)
	t.Logf("Ctrl-C took %s to stop an infinite loop", time.Since(start))
	tm.send("b.fib(20)\r")
	tm.expect(`6765`, 10*time.Second)

	// Loop-free deep recursion stops too.
	tm.send("s.recurse(60)\r")
	waitFile(t, filepath.Join(started, "recurse"), 10*time.Second)
	start = time.Now()
	tm.send("\x03")
	tm.expect(`Interrupted`, 2*time.Second)
	t.Logf("Ctrl-C took %s to stop deep recursion", time.Since(start))

	// Multi-line def: the REPL waits for the block to end with an empty line.
	tm.send("def twice(x):\r")
	tm.expect(`\.\.\. `, 5*time.Second)
	tm.send("return 2 * b.fib(x)\r\r")
	tm.send("twice(10)\r")
	tm.expect(`110`, 10*time.Second)

	// Tab completes module exports.
	tm.send("b.div\t")
	tm.expect(`b\.divmod`, 5*time.Second)
	tm.send("(7, 2)\r")
	tm.expect(`\(3, 1\)`, 10*time.Second)

	// A trap is an error with its Wasm stack; the REPL goes on.
	tm.send("b.trap_nested()\r")
	tm.expect(`Trap: `, 10*time.Second)
	tm.send("b.add(1, 2)\r")
	tm.expect(`\n3\n`, 10*time.Second)

	// %load of a big module returns while the nodes compile it; when they are done, its end
	// prints above the prompt.
	tm.send("%load examples/gowasm.wasm as g\r")
	tm.expect(`g: .* · (loading on 2 nodes|ready on 2 nodes, compiling) \([^\n]*\)\n\[\d+\] `, 10*time.Second)
	tm.expect(`g: .* · ready on 2 nodes after .*, compiled after `, 60*time.Second)
	tm.send("g.collatz(27)\r")
	tm.expect(`\n111\n`, 10*time.Second)

	// Ctrl-D at the prompt ends the REPL.
	tm.expect(`\[\d+\] `, 5*time.Second)
	tm.atPrompt()
	tm.send("\x04")
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the REPL did not exit on Ctrl-D")
	}
}

func TestREPLHistoryPersists(t *testing.T) {
	env := testEnv(t)
	tm := startREPL(t, env, "--nodes", "0")
	tm.expect(`\[1\] `, 20*time.Second)
	tm.send("answer = 42\r")
	tm.expect(`\[2\] `, 5*time.Second)
	tm.atPrompt()
	tm.send("\x04")
	tm.cmd.Wait()

	// A new REPL finds the line with the up arrow.
	tm = startREPL(t, env, "--nodes", "0")
	tm.expect(`\[1\] `, 20*time.Second)
	tm.send("\x1b[A\r")
	tm.expect(`\[2\] `, 5*time.Second)
	tm.send("answer + 1\r")
	tm.expect(`43`, 5*time.Second)
}
