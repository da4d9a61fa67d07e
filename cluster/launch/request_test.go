package launch

import (
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

func TestParseRequest(t *testing.T) {
	interp := node.DefaultSettings()
	interp.Tier = wasm.TierInterpreter
	for _, tt := range []struct {
		words string
		want  Request
	}{
		{"slurm 16", Request{Launcher: "slurm", Nodes: 16, Node: node.DefaultSettings()}},
		{"slurm 4 --partition short --time 1:00:00 --cpus 2 --account proj --tier interpreter -- --qos=debug --mem=1G",
			Request{Launcher: "slurm", Nodes: 4, Node: interp, Slurm: SlurmRequest{Partition: "short", Time: "1:00:00", CPUs: 2, Account: "proj"}, Extra: []string{"--qos=debug", "--mem=1G"}}},
		{"mpi 8 --hosts h1:4,h2:4 --rain /shared/rain", Request{Launcher: "mpi", Nodes: 8, Hosts: []string{"h1:4", "h2:4"}, Rain: "/shared/rain", Node: node.DefaultSettings()}},
		{"mpi 2 -- --oversubscribe", Request{Launcher: "mpi", Nodes: 2, Node: node.DefaultSettings(), Extra: []string{"--oversubscribe"}}},
		{"ssh h1,user@h2 --per-host 4", Request{Launcher: "ssh", Nodes: 4, Hosts: []string{"h1", "user@h2"}, Node: node.DefaultSettings()}},
		{"local 3 --tier interpreter", Request{Launcher: "local", Nodes: 3, Node: interp}},
	} {
		got, err := ParseRequest(strings.Fields(tt.words), node.DefaultSettings(), nil)
		if err != nil {
			t.Errorf("%s: %v", tt.words, err)
			continue
		}
		if got.Launcher != tt.want.Launcher || got.Nodes != tt.want.Nodes || !slices.Equal(got.Hosts, tt.want.Hosts) ||
			got.Rain != tt.want.Rain || got.Slurm != tt.want.Slurm || !slices.Equal(got.Extra, tt.want.Extra) || got.Node.Tier != tt.want.Node.Tier {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.words, got, tt.want)
		}
	}
}

// Every bad request is one line that says what is wrong and how the launcher's words go.
func TestParseRequestErrors(t *testing.T) {
	for _, tt := range []struct{ words, want string }{
		{"", "say which launcher: launch slurm|mpi|ssh|local"},
		{"pbs 4", `unknown launcher "pbs"`},
		{"slurm", "give N, how many nodes: launch slurm N [--partition P]"},
		{"slurm 0", `"0" nodes: N must be a whole number above 0`},
		{"mpi -3", "give N, how many nodes"},
		{"local two", `"two" nodes`},
		{"ssh", "give the hosts: launch ssh HOST[,HOST...]"},
		{"ssh ,", `no host in ","`},
		{"ssh h1 --per-host 0", "--per-host 0: give 1 or more"},
		{"slurm 2 --cpus -1", "--cpus -1: give 1 or more"},
		{"mpi 2 --partition p", "unknown flag -partition: launch mpi N"},
		{"local 2 --rain /x", "unknown flag -rain"},
		{"slurm 2 extra", `unexpected "extra"`},
		{"ssh h1 -- -v", `unexpected "-v"`},
		{"slurm 2 --tier fast", `invalid value "fast" for flag -tier`},
	} {
		_, err := ParseRequest(strings.Fields(tt.words), node.DefaultSettings(), nil)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want %q", tt.words, err, tt.want)
		}
	}
}

// A caller's own flags go with the launcher's.
func TestParseRequestCallerFlags(t *testing.T) {
	fs := flag.NewFlagSet("rain launch", flag.ContinueOnError)
	join := fs.String("join", "", "")
	r, err := ParseRequest([]string{"slurm", "2", "--join", "nats://h:4222", "--partition", "p"}, node.DefaultSettings(), fs)
	if err != nil || *join != "nats://h:4222" || r.Slurm.Partition != "p" {
		t.Errorf("%+v, %v; --join %q", r, err, *join)
	}
}

func TestOwns(t *testing.T) {
	j := newJob("slurm", "slurm-12", 2, "")
	for id, want := range map[string]bool{"slurm-12-0": true, "slurm-12-15": true, "slurm-12-": false, "slurm-123-0": false, "slurm-12-x": false, "slurm-12-1-2": false} {
		if got := j.Owns(id); got != want {
			t.Errorf("Owns(%q) = %v", id, got)
		}
	}
}
