package cluster_test

import (
	"context"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
)

// A session: a hub, two local nodes (here the test binary serves as the node program, as
// `rain node` would), a module loaded on both, and a call.
func Example() {
	ctx := context.Background()
	hub, err := cluster.StartHub()
	if err != nil {
		panic(err)
	}
	defer hub.Shutdown()
	client, err := cluster.Connect(ctx, hub.URL(), hub.Token())
	if err != nil {
		panic(err)
	}
	defer client.Close()
	nodes, err := launch.Local(ctx, os.Args[0], 2, hub.URL(), hub.Token(), node.DefaultSettings())
	if err != nil {
		panic(err)
	}
	defer nodes.Stop()
	if err := client.WaitNodes(ctx, 2); err != nil {
		panic(err)
	}

	bin, err := os.ReadFile("../examples/basics.wasm")
	if err != nil {
		panic(err)
	}
	sha, err := client.Load(ctx, bin)
	if err != nil {
		panic(err)
	}
	res, err := client.Call(ctx, cluster.Call{Export: cluster.Export{Module: sha, Func: "fib"}, Args: []uint64{api.EncodeI32(20)}})
	if err != nil {
		panic(err)
	}
	fmt.Println("fib(20) =", api.DecodeI32(res.Values[0]))
	// Output: fib(20) = 6765
}
