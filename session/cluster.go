package session

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
)

// magicCluster: %cluster shows the hub and the line that joins a node to it;
// %cluster connect URL [TOKEN] moves the session to another hub (a shared `rain hub`).
func (s *Session) magicCluster(thread *starlark.Thread, args string) (starlark.Value, error) {
	f := strings.Fields(args)
	switch {
	case len(f) == 0:
		return Text(s.clusterText()), nil
	case f[0] == "connect" && (len(f) == 2 || len(f) == 3):
		token := os.Getenv(cluster.TokenEnv)
		if len(f) == 3 {
			token = f[2]
		}
		if err := s.connect(threadContext(thread), f[1], token); err != nil {
			return nil, err
		}
		threadOutput(thread).Display(display.Plain("connected to "+f[1]+" · "+s.nodeSummary()), "", false)
		return starlark.None, nil
	}
	return nil, usageError("usage: %%cluster, or %%cluster connect URL [TOKEN] (TOKEN defaults to $%s)", cluster.TokenEnv)
}

// clusterText says where the hub is and how a node joins it.
func (s *Session) clusterText() string {
	var b strings.Builder
	url, token := s.opts.join, s.opts.token
	if s.hub != nil {
		url, token = s.hub.JoinURL(), s.hub.Token()
		fmt.Fprintf(&b, "hub: %s (started by this session)\n", s.hub.URL())
	} else {
		fmt.Fprintf(&b, "hub: %s (shared)\n", url)
	}
	fmt.Fprintf(&b, "nodes: %s\n\n", s.nodeSummary())
	fmt.Fprintf(&b, "join a node:  rain node --join %s --token %s\n", url, token)
	if s.hub != nil && !s.hub.Reachable() {
		b.WriteString("(this hub listens on loopback only: start the session with --listen 0.0.0.0, or run\n" +
			"`rain hub` on a machine the nodes reach and %cluster connect to it)\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// connect moves the session to the hub at url: local nodes and the session's own hub stop,
// and every loaded module is shipped to the new hub's nodes.
func (s *Session) connect(ctx context.Context, url, token string) error {
	var copts []cluster.ClientOption
	if s.opts.tls != (cluster.TLS{}) {
		copts = append(copts, cluster.WithClientTLS(s.opts.tls))
	}
	client, err := cluster.Connect(ctx, url, token, copts...)
	if err != nil {
		return err
	}
	old := s.client
	s.client = client
	s.opts.join, s.opts.token = url, token
	old.Close()
	if s.local != nil {
		s.local.Stop()
		s.local = nil
	}
	if s.hub != nil {
		s.hub.Shutdown()
		s.hub = nil
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.WaitNodes(wctx, 1); err != nil && ctx.Err() == nil {
		return fmt.Errorf("session: no node has joined %s yet: start one with rain node --join %s", url, url)
	}
	for sha := range s.modules {
		if bin, ok := s.insp.bytes(sha); ok {
			if _, err := client.Load(ctx, bin); err != nil {
				return err
			}
		}
	}
	return nil
}
