package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// resident is a compiler kept running between cells, so that it starts once: a process that
// answers each line on its standard input, a JSON object {"dir": DIR, "args": [...]} (the
// compiler's arguments, relative to DIR), with one line on its standard output,
// {"status": N, "output": "..."}: the compiler's exit status and what it printed.
// scripts/asc/compile.mjs is one, for AssemblyScript, whose compiler takes most of a second to
// load and then a fraction of that to compile a small cell.
type resident struct {
	argv []string

	mu     sync.Mutex // one compile at a time
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
}

type residentReply struct {
	Status int    `json:"status"`
	Output string `json:"output"`
}

// run compiles in dir; failed is a non-zero status. A process that died is started again by
// the next run; a cancelled run stops it.
func (r *resident) run(ctx context.Context, dir string, args []string) (out string, failed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		if err := r.start(); err != nil {
			return "", false, err
		}
	}
	req, err := json.Marshal(struct {
		Dir  string   `json:"dir"`
		Args []string `json:"args"`
	}{dir, args})
	if err != nil {
		return "", false, err
	}
	type result struct {
		line []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		if _, err := r.in.Write(append(req, '\n')); err != nil {
			done <- result{nil, err}
			return
		}
		line, err := r.out.ReadBytes('\n')
		done <- result{line, err}
	}()
	select {
	case <-ctx.Done():
		r.stop()
		<-done
		return "", false, ctx.Err()
	case res := <-done:
		var reply residentReply
		if res.err == nil {
			res.err = json.Unmarshal(res.line, &reply)
		}
		if res.err != nil {
			msg := r.stop()
			return "", false, fmt.Errorf("%s stopped: %v %s", r.argv[len(r.argv)-1], res.err, msg)
		}
		return reply.Output, reply.Status != 0, nil
	}
}

func (r *resident) start() error {
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	r.stderr.Reset()
	cmd.Stderr = &r.stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd, r.in, r.out = cmd, in, bufio.NewReader(out)
	return nil
}

// stop ends the process and returns the last line it wrote to its standard error.
func (r *resident) stop() string {
	if r.cmd == nil {
		return ""
	}
	r.in.Close()
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
	lines := strings.Split(strings.TrimSpace(r.stderr.String()), "\n")
	return lines[len(lines)-1]
}

func (r *resident) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stop()
}
