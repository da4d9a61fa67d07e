package launch_test

import (
	"fmt"
	"strings"

	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
)

// The words of `%cluster launch` and `rain launch` read into a Request, and a bad one into one
// line.
func ExampleParseRequest() {
	r, err := launch.ParseRequest(strings.Fields("slurm 16 --partition short --time 30 --tier interpreter -- --qos=debug"), node.DefaultSettings(), nil)
	fmt.Println(r.Launcher, r.Nodes, r.Slurm.Partition, r.Slurm.Time, r.Node.Tier, r.Extra, err)

	_, err = launch.ParseRequest(strings.Fields("ssh h1,h2 --per-host 0"), node.DefaultSettings(), nil)
	fmt.Println(err)
	// Output:
	// slurm 16 short 30 interpreter [--qos=debug] <nil>
	// launch: usage: --per-host 0: give 1 or more: launch ssh HOST[,HOST...] [--per-host K] [--rain PATH] [--tier TIER]
}
