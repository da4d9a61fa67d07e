package launch

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/proc"
)

// An ssh job is one ssh session to each host, running r.Nodes nodes there (IDs ssh-HEX-I, I
// counted over all hosts). Before it starts them, it asks each host what it is (uname) and
// whether it has rain: at --rain PATH, or on its PATH; else it copies this machine's binary
// for the host's OS and architecture (this one, or a rain-OS-ARCH of `make release`) to
// rain/bin in the host's cache folder, named by its SHA-256 so that a copy is made once. The
// token is the first line the session reads from its stdin; the session then waits for the
// end of its stdin and ends its nodes, so that they end when the job is stopped, or when this
// process ends and its ssh with it. ssh runs with BatchMode: a host that asks for a password or
// does not know the key fails at once.

// sshStopWait is how long Stop waits for an ssh session to end its nodes before it kills ssh.
const sshStopWait = 10 * time.Second

// sshOptions are the options every ssh of a launch gets.
var sshOptions = []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=15"}

// sshHost is what a probe learnt of a host.
type sshHost struct {
	host     string // as the user gave it
	os, arch string // in Go's words
	cache    string // rain/bin in its cache folder
	onPath   bool   // rain is on its PATH
	rainOK   bool   // the --rain path is an executable
	cached   []string
	rain     string // the rain binary the nodes run
}

func startSSH(ctx context.Context, r Request, url, token string, o options) (*Job, error) {
	if _, err := exec.LookPath(o.ssh[0]); err != nil {
		return nil, fmt.Errorf("launch: ssh: %w", &missing{name: o.ssh[0]})
	}
	name := randomName("ssh")
	dir := filepath.Join(o.logDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("launch: ssh: %w", err)
	}
	hosts := make([]*sshHost, len(r.Hosts))
	errs := make([]error, len(r.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.Hosts {
		wg.Go(func() { hosts[i], errs[i] = prepareHost(ctx, o, r, h) })
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}

	j := newJob("ssh", name, r.Nodes*len(hosts), dir)
	sessions := make([]*sshSession, 0, len(hosts))
	stopAll := func() {
		var wg sync.WaitGroup
		for _, s := range sessions {
			wg.Go(s.stop)
		}
		wg.Wait()
	}
	for i, h := range hosts {
		s, err := startSession(o, h, r, name, i*r.Nodes, url, token, filepath.Join(dir, logName(i, h.host)))
		if err != nil {
			stopAll()
			return nil, err
		}
		sessions = append(sessions, s)
	}
	j.stop = func() error { stopAll(); return nil }
	j.set(Status{State: Running})
	go func() {
		ended := make(chan *sshSession)
		for _, s := range sessions {
			go func() { <-s.exited; ended <- s }()
		}
		for range sessions {
			s := <-ended
			if s.err != nil {
				why := fileTail(s.log)
				if why == "" {
					why = "ssh: " + s.err.Error()
				}
				j.set(Status{State: Failed, Reason: s.host + ": " + why})
			}
		}
		j.set(Status{State: Done})
	}()
	return j, nil
}

// firstError is the first error of errs that is not nil.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// logName is the file a host's session writes its output to.
func logName(i int, host string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == ':' || r == '@' {
			return '_'
		}
		return r
	}, host)
	return fmt.Sprintf("%d-%s.out", i, safe)
}

// sshArgs are the arguments of ssh to host that run script under /bin/sh, whatever the user's
// login shell.
func sshArgs(o options, host, script string) []string {
	return append(append(slices.Clone(o.ssh[1:]), sshOptions...), host, "exec /bin/sh -c "+shellQuote(script))
}

// prepareHost asks host what it is and finds, or copies, the rain binary its nodes run.
func prepareHost(ctx context.Context, o options, r Request, host string) (*sshHost, error) {
	probe := `uname -s; uname -m; d="${XDG_CACHE_HOME:-$HOME/.cache}/rain/bin"; echo "$d"; ` +
		`if command -v rain >/dev/null 2>&1; then echo yes; else echo no; fi; `
	if r.Rain != "" {
		probe += `if [ -x ` + shellQuote(r.Rain) + ` ]; then echo yes; else echo no; fi; `
	} else {
		probe += `echo -; `
	}
	probe += `ls "$d" 2>/dev/null | tr '\n' ' '; echo; echo end`
	out, err := run(exec.CommandContext(ctx, o.ssh[0], sshArgs(o, host, probe)...))
	if err != nil {
		return nil, fmt.Errorf("launch: ssh: %s: %w", host, err)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 7 || lines[6] != "end" {
		return nil, fmt.Errorf("launch: ssh: %s: the host's shell answered %q, not what /bin/sh says", host, strings.TrimSpace(string(out)))
	}
	h := &sshHost{
		host: host, os: goOS(lines[0]), arch: goArch(lines[1]), cache: lines[2],
		onPath: lines[3] == "yes", rainOK: lines[4] == "yes", cached: strings.Fields(lines[5]),
	}
	switch {
	case r.Rain != "" && !h.rainOK:
		return nil, fmt.Errorf("launch: ssh: %s: no rain at %s", host, r.Rain)
	case r.Rain != "":
		h.rain = r.Rain
		return h, nil
	case h.onPath:
		h.rain = "rain"
		return h, nil
	}
	bin, err := binaryFor(o.binary, h.os, h.arch)
	if err != nil {
		return nil, fmt.Errorf("launch: ssh: %s is %s/%s and has no rain on its PATH, and %w", host, h.os, h.arch, err)
	}
	sum, err := fileSum(bin)
	if err != nil {
		return nil, fmt.Errorf("launch: ssh: %w", err)
	}
	copyName := "rain-" + sum[:16]
	h.rain = h.cache + "/" + copyName
	if slices.Contains(h.cached, copyName) {
		return h, nil
	}
	f, err := os.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("launch: ssh: %w", err)
	}
	defer f.Close()
	d, tmp := shellQuote(h.cache), shellQuote(h.cache+"/."+copyName+".part")+".$$" // two copies may race
	cmd := exec.CommandContext(ctx, o.ssh[0], sshArgs(o, host, `mkdir -p `+d+` && cat >`+tmp+` && chmod 755 `+tmp+` && mv -f `+tmp+` `+shellQuote(h.rain))...)
	cmd.Stdin = f
	if _, err := run(cmd); err != nil {
		return nil, fmt.Errorf("launch: ssh: %s: copying rain to %s: %w", host, h.cache, err)
	}
	return h, nil
}

// goOS and goArch turn uname's words into Go's.
func goOS(uname string) string { return strings.ToLower(strings.TrimSpace(uname)) }

func goArch(uname string) string {
	switch m := strings.TrimSpace(uname); m {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "i386", "i686":
		return "386"
	case "armv7l", "armv6l":
		return "arm"
	default:
		return m
	}
}

// binaryFor is the rain binary for a host of goos/goarch: rain-GOOS-GOARCH of `make release`
// beside local or in release/ beside it (built without cgo, it runs on any such host), else
// local itself when the host is of this machine's kind.
func binaryFor(local, goos, goarch string) (string, error) {
	name := "rain-" + goos + "-" + goarch
	dir := filepath.Dir(local)
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, "release", name)} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	if goos == runtime.GOOS && goarch == runtime.GOARCH {
		return local, nil
	}
	return "", fmt.Errorf("there is no %s beside %s or in its release/ folder: build it with make release, or give --rain PATH", name, local)
}

// fileSum is the SHA-256 of a file, in hex.
func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sshSession is the ssh process that runs one host's nodes.
type sshSession struct {
	host   string
	log    string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	err    error // how ssh ended, once exited is closed
	once   sync.Once
}

// startSession starts h's nodes, first the node's ID is name-first.
func startSession(o options, h *sshHost, r Request, name string, first int, url, token, log string) (*sshSession, error) {
	var b strings.Builder
	// The session's stdin stays on fd 3: a shell gives its background jobs /dev/null instead.
	b.WriteString(`exec 3<&0; IFS= read -r RAIN_TOKEN || exit 1; export RAIN_TOKEN; pids=; rain=` + shellQuote(h.rain) + `; `)
	for k := range r.Nodes {
		fmt.Fprintf(&b, `%s </dev/null 3<&- & pids="$pids $!"; `, nodeLine(`"$rain"`, fmt.Sprintf("%s-%d", name, first+k), url, r.Node))
	}
	b.WriteString(`{ cat <&3 >/dev/null 2>&1; kill $pids 2>/dev/null; } & w=$!; exec 3<&-; ` +
		`s=0; for p in $pids; do wait $p || s=$?; done; kill $w 2>/dev/null; exit $s`)
	f, err := os.Create(log)
	if err != nil {
		return nil, fmt.Errorf("launch: ssh: %w", err)
	}
	cmd := exec.Command(o.ssh[0], sshArgs(o, h.host, b.String())...)
	cmd.Stdout, cmd.Stderr = f, f
	stdin, err := cmd.StdinPipe()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("launch: ssh: %w", err)
	}
	proc.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("launch: ssh: %s: %w", h.host, err)
	}
	s := &sshSession{host: h.host, log: log, cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		f.Close()
		close(s.exited)
	}()
	if _, err := io.WriteString(stdin, token+"\n"); err != nil {
		s.stop()
		return nil, fmt.Errorf("launch: ssh: %s: %w", h.host, err)
	}
	return s, nil
}

// stop closes the session's stdin, which ends its nodes, and waits for ssh to end.
func (s *sshSession) stop() {
	s.once.Do(func() {
		s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(sshStopWait):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// sshHostName is the host name ssh connects to for host: its HostName in the ssh
// configuration (ssh -G), which may name an alias.
func sshHostName(ctx context.Context, ssh []string, host string) (string, error) {
	out, err := exec.CommandContext(ctx, ssh[0], append(slices.Clone(ssh[1:]), "-G", host)...).Output()
	if err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "hostname "); ok {
				return v, nil
			}
		}
	}
	h := host // ssh://user@host:port or user@host
	h = strings.TrimPrefix(h, "ssh://")
	if i := strings.LastIndex(h, "@"); i >= 0 {
		h = h[i+1:]
	}
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.Contains(h[i+1:], "]") {
		h = h[:i]
	}
	return strings.Trim(h, "[]"), nil
}
