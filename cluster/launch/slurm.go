package launch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster/node"
)

// A Slurm job is one batch job of r.Nodes tasks (sbatch --ntasks), each a node: the batch
// script runs `srun` over them, and each task finds rain and runs it with the ID
// slurm-JOBID-TASK. The token travels in the job's environment (sbatch's --export=ALL), which
// Slurm shows to the job's user and root only. Slurm's commands find the cluster as they
// always do ($SLURM_CONF or /etc/slurm). The job is followed with squeue; a guard cancels it
// (scancel) when this process ends.

// How often a Slurm job's state is read: while it waits or starts, while it runs, and while
// Stop waits for it to end.
const (
	slurmPollPending  = time.Second
	slurmPollRunning  = 3 * time.Second
	slurmPollStopping = 200 * time.Millisecond
)

func startSlurm(ctx context.Context, r Request, url, token string, o options) (*Job, error) {
	if _, err := exec.LookPath("sbatch"); err != nil {
		return nil, fmt.Errorf("launch: slurm: %w", &missing{"sbatch", " (is this a Slurm login node?)"})
	}
	name := randomName("rain") // the job's name in the queue, for the guard until it knows the ID
	out := filepath.Join(o.logDir, "slurm-%j.out")
	args := []string{"--parsable", "--job-name=" + name, fmt.Sprintf("--ntasks=%d", r.Nodes),
		"--output=" + out, "--export=ALL"}
	if r.Slurm.Partition != "" {
		args = append(args, "--partition="+r.Slurm.Partition)
	}
	if r.Slurm.Time != "" {
		args = append(args, "--time="+r.Slurm.Time)
	}
	if r.Slurm.Account != "" {
		args = append(args, "--account="+r.Slurm.Account)
	}
	srun := "srun"
	if r.Slurm.CPUs > 0 {
		args = append(args, fmt.Sprintf("--cpus-per-task=%d", r.Slurm.CPUs))
		srun += fmt.Sprintf(" --cpus-per-task=%d", r.Slurm.CPUs) // srun of Slurm 22.05 does not inherit it
	}
	args = append(args, r.Extra...)
	task := findRain(r.Rain, o.binary) + "exec " + nodeLine(`"$rain"`, "slurm-${SLURM_JOB_ID}-${SLURM_PROCID}", url, r.Node)
	script := "#!/bin/sh\n# Rain nodes: each task runs `rain node`, joined to the hub with the token in $" +
		node.TokenEnv + ".\nexec " + srun + " sh -c " + shellQuote(task) + "\n"

	g, err := startGuard(`if [ -n "$id" ]; then exec scancel "$id"; fi; exec scancel --name=` + name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "sbatch", args...)
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = append(os.Environ(), node.TokenEnv+"="+token)
	stdout, err := run(cmd)
	if err != nil {
		if ctx.Err() != nil {
			g.fire() // sbatch was stopped: the job may be in the queue, under its name
		} else {
			g.dismiss() // Slurm refused the job
		}
		return nil, fmt.Errorf("launch: slurm: %w", err)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(stdout)), ";") // "1234" or "1234;cluster"
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		g.dismiss()
		return nil, fmt.Errorf("launch: slurm: sbatch answered %q, not a job ID", strings.TrimSpace(string(stdout)))
	}
	g.setID(id)
	j := newJob("slurm", "slurm-"+id, r.Nodes, strings.ReplaceAll(out, "%j", id))
	j.SchedulerID = id
	stopping := make(chan struct{})
	j.stop = func() error {
		close(stopping)
		_, err := run(exec.Command("scancel", id))
		if err != nil && !j.Status().State.Ended() {
			return fmt.Errorf("launch: %s: %w", j.Name, err)
		}
		return nil
	}
	j.set(Status{State: Pending})
	go func() {
		defer g.dismiss()
		every := slurmPollPending
		for {
			select {
			case <-time.After(every):
			case <-stopping:
				stopping = nil
				every = slurmPollStopping
			}
			st, ok := slurmStatus(j)
			if !ok {
				continue // squeue did not answer: ask again
			}
			j.set(st)
			switch {
			case st.State.Ended():
				return
			case stopping == nil:
			case st.State == Running:
				every = slurmPollRunning
			default:
				every = slurmPollPending
			}
		}
	}()
	return j, nil
}

// slurmStatus reads a job's state with squeue (and, once squeue has forgotten it, scontrol).
// ok is false when neither answered.
func slurmStatus(j *Job) (st Status, ok bool) {
	out, err := exec.Command("squeue", "--noheader", "--states=all", "--jobs="+j.SchedulerID, "--format=%T|%r").Output()
	state, reason, found := strings.Cut(strings.TrimSpace(string(out)), "|")
	if err != nil || !found {
		// Not in the queue any more: scontrol still has it for a while (MinJobAge).
		out, err := exec.Command("scontrol", "show", "job", "--oneliner", j.SchedulerID).Output()
		if err != nil {
			if strings.Contains(err.Error(), "exit status") { // slurmctld forgot the job: it ended
				return Status{State: Done, Reason: "left the queue"}, true
			}
			return Status{}, false
		}
		state, reason = field(out, "JobState"), field(out, "Reason")
	}
	if reason == "None" || reason == "(null)" {
		reason = ""
	}
	switch state {
	case "PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "CONFIGURING", "RESIZING", "SUSPENDED", "STOPPED":
		if state != "PENDING" {
			reason = strings.ToLower(state) + strings.TrimPrefix(" "+reason, " ")
		}
		return Status{State: Pending, Reason: reason}, true
	case "RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING":
		return Status{State: Running}, true
	case "COMPLETED":
		return Status{State: Done}, true
	case "":
		return Status{}, false
	}
	// CANCELLED (by someone else than Stop), FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, …
	why := fileTail(j.Output)
	switch {
	case why == "":
		why = strings.ToLower(state)
	case state != "FAILED":
		why = strings.ToLower(state) + ": " + why
	}
	return Status{State: Failed, Reason: why}, true
}

// field is the value of KEY=VALUE in scontrol's one-line output.
func field(out []byte, key string) string {
	m := regexp.MustCompile(`(?:^|\s)` + key + `=(\S*)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// slurmController is the host of the Slurm controller, as `scontrol show config` names it:
// the address in "SlurmctldHost[0] = name(address)", else the name.
func slurmController(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("scontrol"); err != nil {
		return "", fmt.Errorf("launch: slurm: %w", &missing{"scontrol", " (is this a Slurm login node?)"})
	}
	out, err := run(exec.CommandContext(ctx, "scontrol", "show", "config"))
	if err != nil {
		return "", fmt.Errorf("launch: slurm: %w", err)
	}
	m := regexp.MustCompile(`(?m)^(?:SlurmctldHost\[0\]|ControlMachine)\s*=\s*([^\s(]+)(?:\(([^)]+)\))?`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("launch: slurm: scontrol show config names no SlurmctldHost")
	}
	if len(m[2]) > 0 {
		return string(m[2]), nil
	}
	return string(m[1]), nil
}
