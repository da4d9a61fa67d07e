package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/proc"
	"github.com/rain-wasm/rain/cluster/node"
)

// An MPI job is one mpirun of r.Nodes ranks, each a node: a shell that finds rain and runs
// it with the ID mpi-HEX-RANK (the rank from Open MPI's, MPICH's or PMIx's variable). Open
// MPI's mpirun is told to pass the token's environment variable to remote ranks (-x); MPICH's
// passes the whole environment. mpirun is this process's child: it gets SIGTERM when this
// process ends, however it ends, and ends its ranks; and each rank gets SIGTERM when its
// parent ends (setpriv --pdeathsig, on Linux), as mpirun ended early leaves its ranks behind.

// mpiStopWait is how long Stop waits for mpirun to end its ranks after SIGTERM before it kills
// it.
const mpiStopWait = 10 * time.Second

func startMPI(r Request, url, token string, o options) (*Job, error) {
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		return nil, fmt.Errorf("launch: mpi: %w", &missing{"mpirun", " (Debian's openmpi-bin has it)"})
	}
	name := randomName("mpi")
	args := []string{"-n", strconv.Itoa(r.Nodes)}
	if len(r.Hosts) > 0 {
		args = append(args, "--host", strings.Join(r.Hosts, ","))
	}
	env := append(os.Environ(), node.TokenEnv+"="+token)
	if openMPI(mpirun) {
		args = append(args, "-x", node.TokenEnv)
		if os.Geteuid() == 0 { // Open MPI refuses root unless told twice; rain runs as whoever started it
			env = append(env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
		}
	}
	args = append(args, r.Extra...)
	rank := name + "-${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${PMIX_RANK:-0}}}"
	// A rank ends with its parent (mpirun here, orted elsewhere) where setpriv can say so:
	// mpirun that gets SIGTERM while it still starts its ranks ends without them.
	line := nodeLine(`"$rain"`, rank, url, r.Node)
	args = append(args, "/bin/sh", "-c", findRain(r.Rain, o.binary)+
		"if command -v setpriv >/dev/null 2>&1; then exec setpriv --pdeathsig TERM "+line+"; fi; exec "+line)
	output := filepath.Join(o.logDir, name+".out")
	f, err := os.Create(output)
	if err != nil {
		return nil, fmt.Errorf("launch: mpi: %w", err)
	}
	cmd := exec.Command(mpirun, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	proc.TermWithParent(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("launch: mpi: %w", err)
	}
	j := newJob("mpi", name, r.Nodes, output)
	exited := make(chan struct{})
	j.stop = func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(mpiStopWait):
			cmd.Process.Kill()
		}
		return nil
	}
	j.set(Status{State: Running})
	go func() {
		err := cmd.Wait()
		f.Close()
		close(exited)
		if err == nil {
			j.set(Status{State: Done})
			return
		}
		why := fileTail(output)
		if why == "" {
			why = "mpirun: " + err.Error()
		}
		j.set(Status{State: Failed, Reason: why})
	}()
	return j, nil
}

// openMPI reports whether mpirun is Open MPI's (else it is taken to be MPICH's Hydra).
func openMPI(mpirun string) bool {
	out, _ := exec.Command(mpirun, "--version").CombinedOutput()
	return strings.Contains(string(out), "Open MPI") || strings.Contains(string(out), "OpenRTE")
}
