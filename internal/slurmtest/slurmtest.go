// Package slurmtest gives tests a Slurm cluster: the one-machine cluster of scripts/slurm-local
// (munged, slurmctld and slurmd configured in a folder of their own), started once per test
// binary, and Slurm's commands pointed at it through $SLURM_CONF. slurmd runs jobs as their
// users, which only root can: a test that is not root is skipped, with one line saying so.
package slurmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	err  error
	skip string
)

// script is scripts/slurm-local of this repository.
func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "slurm-local")
}

// Need starts the cluster, once, or skips t when it cannot run here (not root); a cluster that
// fails to start as root fails t.
func Need(t testing.TB) {
	t.Helper()
	once.Do(func() {
		if os.Geteuid() != 0 {
			skip = "Slurm: slurmd must run as root to run jobs as their users; this test is not root"
			return
		}
		if dir, err = os.MkdirTemp("", "rain-slurm-"); err != nil {
			return
		}
		out, e := exec.Command(script(), "start", dir).CombinedOutput()
		if e != nil {
			err = fmt.Errorf("scripts/slurm-local start: %v\n%s", e, out)
			return
		}
		os.Setenv("SLURM_CONF", filepath.Join(dir, "slurm.conf"))
	})
	if skip != "" {
		t.Skip(skip)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Stop stops the cluster if Need started one; a TestMain calls it after the tests.
func Stop() {
	if dir == "" {
		return
	}
	exec.Command(script(), "stop", dir).Run()
	os.RemoveAll(dir)
}
