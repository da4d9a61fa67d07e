// Package rig starts what a benchmark measures Rain on: an embedded hub, a client connected to
// it, and `rain node` processes on this machine that share a fresh module cache.
package rig

import (
	"context"
	"os"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
)

// nodeWait bounds how long AddNodes waits for its nodes to be ready.
const nodeWait = 20 * time.Second

// Rig is a hub, a client and the nodes started so far.
type Rig struct {
	Hub    *cluster.Hub
	Client *cluster.Client

	rain     string
	settings node.Settings
	nodes    []*launch.LocalNodes
	ready    int
}

// Start starts a hub and connects a client; nodes will run the rain binary rain.
func Start(ctx context.Context, rain string) (*Rig, error) {
	hub, err := cluster.StartHub()
	if err != nil {
		return nil, err
	}
	r := &Rig{Hub: hub, rain: rain, settings: node.DefaultSettings()}
	if r.Client, err = cluster.Connect(ctx, hub.URL(), hub.Token()); err != nil {
		r.Close()
		return nil, err
	}
	if r.settings.CacheDir, err = os.MkdirTemp("", "rain-bench-cache-"); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// AddNodes starts n more nodes and waits until every node of the rig is ready.
func (r *Rig) AddNodes(ctx context.Context, n int) (*launch.LocalNodes, error) {
	nodes, err := launch.Local(ctx, r.rain, n, r.Hub.URL(), r.Hub.Token(), r.settings)
	if err != nil {
		return nil, err
	}
	r.nodes = append(r.nodes, nodes)
	r.ready += n
	ctx, cancel := context.WithTimeout(ctx, nodeWait)
	defer cancel()
	return nodes, r.Client.WaitNodes(ctx, r.ready)
}

// Load loads the module at path on the nodes and returns its SHA-256.
func (r *Rig) Load(ctx context.Context, path string) (string, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return r.Client.Load(ctx, bin)
}

// Close stops the nodes, the client and the hub, and removes the cache.
func (r *Rig) Close() {
	for _, n := range r.nodes {
		n.Stop()
	}
	if r.Client != nil {
		r.Client.Close()
	}
	r.Hub.Shutdown()
	if r.settings.CacheDir != "" {
		os.RemoveAll(r.settings.CacheDir)
	}
}
