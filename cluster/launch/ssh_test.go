package launch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sshTest is an sshd on this machine's loopback that admits a key of the test's, and an ssh
// configuration ($RAIN_SSH) whose hosts reach it: rain-test with no rain on the PATH,
// rain-path with the test binary as rain on the PATH, rain-riscv whose uname says riscv64,
// rain-refused with a key sshd does not know, and rain-down where nothing listens.
type sshTest struct {
	dir   string
	cache string // the cache folder the hosts' sessions see ($XDG_CACHE_HOME)
}

// needSSH starts sshd for the test (stopped when it ends), or skips the test when it cannot.
func needSSH(t *testing.T) *sshTest {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if sshd, err = exec.LookPath("/usr/sbin/sshd"); err != nil {
			t.Skip("SSH: no sshd (Debian's openssh-server; scripts/install-deps installs it)")
		}
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("SSH: no ssh client")
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation folder, as its service makes it
	}
	dir, err := os.MkdirTemp("", "rain-ssh-") // short: ssh's paths have limits
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	st := &sshTest{dir: dir, cache: filepath.Join(dir, "cache")}
	for _, k := range []string{"host", "id", "idpath", "idriscv", "other"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	// Each key logs in with its own PATH (sshd sets the PATH after what a client sends).
	sys := "/usr/local/bin:/usr/bin:/bin"
	var keys strings.Builder
	for k, path := range map[string]string{"id": sys, "idpath": dir + "/pathbin:" + sys, "idriscv": dir + "/fakebin:" + sys} {
		pub, _ := os.ReadFile(filepath.Join(dir, k+".pub"))
		fmt.Fprintf(&keys, "environment=\"PATH=%s\",environment=\"XDG_CACHE_HOME=%s\" %s", path, st.cache, pub)
	}
	os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(keys.String()), 0o600)
	for _, sub := range []string{"fakebin", "pathbin"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "fakebin", "uname"), []byte("#!/bin/sh\nif [ \"$1\" = -m ]; then echo riscv64; else echo Linux; fi\n"), 0o755)
	if err := os.Symlink(os.Args[0], filepath.Join(dir, "pathbin", "rain")); err != nil {
		t.Fatal(err)
	}
	port, down := freePort(t), freePort(t)
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host
PidFile %[2]s/sshd.pid
AuthorizedKeysFile %[2]s/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PermitUserEnvironment PATH,XDG_CACHE_HOME
`, port, dir)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600)
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	log, _ := os.Create(filepath.Join(dir, "sshd.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Skipf("SSH: cannot start sshd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Logf("sshd's log:\n%s", b)
		}
	})
	host := func(name, key string, port int) string {
		return fmt.Sprintf(`Host %s
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %s/%s
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
`, name, port, me.Username, dir, key)
	}
	cfg := host("rain-test", "id", port) + host("rain-path", "idpath", port) + host("rain-riscv", "idriscv", port) +
		host("rain-refused", "other", port) + host("rain-down", "id", down)
	os.WriteFile(filepath.Join(dir, "ssh_config"), []byte(cfg), 0o600)
	t.Setenv(SSHEnv, "ssh -F "+filepath.Join(dir, "ssh_config"))
	// sshd is ready once it accepts connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			if os.Geteuid() != 0 {
				t.Skipf("SSH: sshd does not start when not root: %v: %s", err, strings.TrimSpace(string(b)))
			}
			t.Fatalf("sshd: %v\n%s", err, b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("sshd does not listen after 10 s")
		}
	}
	// sshd not run by root logs in only the user who runs it, and only an account that is not
	// locked.
	if out, err := exec.Command("ssh", "-F", filepath.Join(dir, "ssh_config"), "-o", "BatchMode=yes", "rain-test", "true").CombinedOutput(); err != nil {
		msg := strings.TrimSpace(string(out))
		if os.Geteuid() != 0 {
			t.Skipf("SSH: sshd run by %s does not log %[1]s in: %s", me.Username, msg)
		}
		t.Fatalf("ssh to the test's sshd: %v: %s", err, msg)
	}
	return st
}

// freePort is a TCP port nothing listens on, below the range the kernel gives connections their
// local ports from: no connection takes it before sshd binds it (see scripts/slurm-local).
func freePort(t *testing.T) int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	for range 100 {
		p := 10000 + rand.IntN(max(1, low-10000))
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port below the kernel's ephemeral range")
	return 0
}

// copies are the rain binaries copied to the hosts' cache folder.
func (st *sshTest) copies() []string {
	files, _ := filepath.Glob(filepath.Join(st.cache, "rain", "bin", "rain-*"))
	return files
}

// running reports whether a process of this machine has the job's name on its command line.
func running(j *Job) bool {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), j.Name+"-") {
			return true
		}
	}
	return false
}

// The ssh launcher copies rain to a host that has none, once; the nodes join with the job's
// IDs, and end with the job.
func TestSSHJob(t *testing.T) {
	st := needSSH(t)
	hub, client := testHub(t)
	j := startJob(t, hub, testRequest(t, "ssh rain-test,rain-test --per-host 2"))
	ids := waitJobNodes(t, client, j)
	slices.Sort(ids)
	if want := []string{j.NodeID(0), j.NodeID(1), j.NodeID(2), j.NodeID(3)}; !slices.Equal(ids, want) {
		t.Errorf("nodes %v joined, want %v", ids, want)
	}
	copies := st.copies()
	if len(copies) != 1 {
		t.Fatalf("copies of rain on the host: %v, want one", copies)
	}
	before, _ := os.Stat(copies[0])
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := j.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if s := j.Status(); s != (Status{State: Done, Reason: "stopped"}) {
		t.Errorf("a stopped job is %s", s)
	}
	waitGone(t, client, j)
	if running(j) {
		t.Errorf("%s's nodes still run after Stop", j.Name)
	}

	j = startJob(t, hub, testRequest(t, "ssh rain-test"))
	waitJobNodes(t, client, j)
	after, err := os.Stat(copies[0])
	if err != nil || !after.ModTime().Equal(before.ModTime()) || len(st.copies()) != 1 {
		t.Errorf("the second launch copied rain again: %v", st.copies())
	}
}

// A host with rain on its PATH runs that rain, and gets no copy.
func TestSSHPath(t *testing.T) {
	st := needSSH(t)
	hub, client := testHub(t)
	j := startJob(t, hub, testRequest(t, "ssh rain-path"))
	waitJobNodes(t, client, j)
	if c := st.copies(); len(c) != 0 {
		t.Errorf("a host with rain on its PATH got a copy: %v", c)
	}
}

// A host that refuses the key, one that cannot be reached, one of an architecture with no
// binary here, a --rain that is not there, and no ssh: one line each.
func TestSSHErrors(t *testing.T) {
	needSSH(t)
	hub, _ := testHub(t)
	for _, tt := range []struct{ words, want string }{
		{"ssh rain-refused", "rain-refused: ssh: " + "root@127.0.0.1: Permission denied (publickey)"},
		{"ssh rain-down", "Connection refused"},
		{"ssh rain-riscv", "rain-riscv is linux/riscv64 and has no rain on its PATH, and there is no rain-linux-riscv64 beside"},
		{"ssh rain-test --rain /nonexistent/rain", "rain-test: no rain at /nonexistent/rain"},
	} {
		_, err := Start(t.Context(), testRequest(t, tt.words), hub.URL(), hub.Token(), WithBinary(os.Args[0]), WithLogDir(t.TempDir()))
		if err == nil || !strings.Contains(err.Error(), strings.Replace(tt.want, "root@", currentUser(t)+"@", 1)) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", tt.words, err, tt.want)
		}
	}
	t.Setenv(SSHEnv, "no-such-ssh")
	if _, err := Start(t.Context(), testRequest(t, "ssh h1"), hub.URL(), hub.Token()); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no ssh: %v", err)
	}
}

func currentUser(t *testing.T) string {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return me.Username
}
