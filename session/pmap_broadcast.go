package session

import (
	"fmt"
	"sync"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
)

// builtinBroadcast is broadcast(f, *args): f(*args) once on every ready node, at the same
// time; a dict node ID → result. Arrays among args go to every node; what the calls leave in
// them is not written back (which node's would it be?).
func (s *Session) builtinBroadcast(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, usageError("broadcast takes no keyword arguments: broadcast(f, *args)")
	}
	if len(args) == 0 {
		return nil, usageError("broadcast: missing argument for f: broadcast(f, *args)")
	}
	f, ok := args[0].(*Function)
	if !ok {
		return nil, usageError("broadcast: first argument must be a Wasm function, got %s: give a module's export, such as m.f", args[0].Type())
	}
	ca, err := f.encode(args[1:])
	if err != nil {
		return nil, fmt.Errorf("broadcast: %w", err)
	}
	if s.client == nil {
		return nil, failure(kindNoNodes, "broadcast: no cluster")
	}
	var ids []string
	for _, n := range s.client.Nodes() {
		if n.Ready {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 {
		return nil, failure(kindNoNodes, "broadcast: no node is ready (%%nodes shows them)")
	}
	ctx := threadContext(thread)
	results := make([]*cluster.Result, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			results[i], errs[i] = s.client.Call(ctx, cluster.Call{Export: f.export(), Args: ca.raw, Buffers: ca.bufs, Node: id})
		})
	}
	wg.Wait()
	d := starlark.NewDict(len(ids))
	for i, id := range ids {
		if errs[i] != nil {
			return nil, errs[i]
		}
		d.SetKey(starlark.String(id), decodeResults(f.sig.Results, results[i].Values))
	}
	return d, nil
}
