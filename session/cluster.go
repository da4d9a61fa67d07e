package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/display"
)

// magicCluster: %cluster shows the hub, the line that joins a node to it and the session's
// jobs; %cluster connect URL [TOKEN] moves the session to another hub (a shared `rain hub`);
// %cluster launch ... starts nodes through a launcher, and %cluster stop JOB ends them.
func (s *Session) magicCluster(thread *starlark.Thread, args string) (starlark.Value, error) {
	f := strings.Fields(args)
	switch {
	case len(f) == 0:
		return Text(s.clusterText()), nil
	case f[0] == "launch":
		return s.magicLaunch(thread, strings.TrimPrefix(strings.TrimSpace(args), "launch"))
	case f[0] == "stop" && len(f) == 2:
		return s.magicStop(thread, f[1])
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
	return nil, usageError("usage: %%cluster, %%cluster connect URL [TOKEN] (TOKEN defaults to $%s), %%cluster launch %s ..., or %%cluster stop JOB", cluster.TokenEnv, strings.Join(launch.Launchers(), "|"))
}

// translateCluster is the default translation, but that a bare %cluster launch assigns its
// job to _ (as %load binds its module): the cell shows the job's live display, not its value
// once more.
func (m *magic) translateCluster(args, lhs string) (string, error) {
	if f := strings.Fields(args); len(f) > 0 && f[0] == "launch" && lhs == "" {
		lhs = "_"
	}
	return m.call(args, lhs)
}

// clusterText says where the hub is and how a node joins it.
func (s *Session) clusterText() string {
	var b strings.Builder
	url, token := s.opts.join, s.opts.token
	if s.hub != nil {
		url, token = s.hub.JoinURL(), s.hub.Token()
		fmt.Fprintf(&b, "hub: %s (started by this session)\n", s.hub.URL())
	} else {
		fmt.Fprintf(&b, "hub: %s (external, not started by this session)\n", url)
	}
	fmt.Fprintf(&b, "nodes: %s\n\n", s.nodeSummary())
	fmt.Fprintf(&b, "join a node:  %s\n", joinLine(url, token))
	if s.dash != nil {
		fmt.Fprintf(&b, "dashboard:    %s\n", s.dash.URL())
	}
	if s.hub != nil && !s.hub.Reachable() {
		b.WriteString("(this hub listens on loopback only: %cluster launch moves it to every interface for nodes\n" +
			"on other machines; or start the session with --listen 0.0.0.0, or run `rain hub` on a machine\n" +
			"the nodes reach and %cluster connect to it)\n")
	}
	if len(s.jobs.all()) > 0 {
		b.WriteString("\njobs:\n" + s.jobsTable().Plain())
	}
	return strings.TrimRight(b.String(), "\n")
}

// joinLine is the command that joins a node to the hub at url: with no token (a NATS server
// without token authorization, or one given in the URL) it has no --token.
func joinLine(url, token string) string {
	if token == "" {
		return "rain node --join " + url
	}
	return "rain node --join " + url + " --token " + token
}

// checkURL checks a hub's URL, or a comma-separated list of a NATS cluster's URLs, before it
// is dialled: a typo fails at once rather than after the reconnect window.
func CheckURL(urls string) error {
	if strings.TrimSpace(urls) == "" {
		return usageError("session: empty NATS URL: use nats://HOST:PORT")
	}
	for _, raw := range strings.Split(urls, ",") {
		raw = strings.TrimSpace(raw)
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw // as nats.go reads it
		}
		u, err := url.Parse(raw)
		if err != nil {
			return usageError("session: bad NATS URL %q: use nats://HOST:PORT", raw)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return usageError("session: bad NATS URL %q: the scheme must be nats, tls, ws or wss", raw)
		}
		if u.Hostname() == "" {
			return usageError("session: bad NATS URL %q: no host", raw)
		}
	}
	return nil
}

// connectError is a failure to use the hub at start or on %cluster connect, said in one line
// for a user; it unwraps to the cluster's error (cluster.ErrUnauthorized, cluster.ErrHubLost,
// cluster.ErrTLS).
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

// dialError says why the session could not use the hub at url.
func dialError(url string, err error) error {
	var msg string
	switch {
	case errors.Is(err, cluster.ErrUnauthorized):
		msg = fmt.Sprintf("session: %s refused the token: give the hub's token with --token or $%s", url, cluster.TokenEnv)
	case errors.Is(err, cluster.ErrHubLost):
		cause := strings.TrimPrefix(err.Error(), cluster.ErrHubLost.Error()+": "+url+": ")
		msg = fmt.Sprintf("session: cannot reach a NATS server at %s: %s", url, cause)
	default:
		return err
	}
	return &connectError{msg: msg, err: err}
}

// connect moves the session to the hub at url: local nodes and the session's own hub stop,
// and every loaded module is shipped to the new hub's nodes.
func (s *Session) connect(ctx context.Context, url, token string) error {
	if err := CheckURL(url); err != nil {
		return err
	}
	client, err := cluster.Connect(ctx, url, token, s.clientOptions()...)
	if err != nil {
		return dialError(url, err)
	}
	s.jobs.stopAll() // their nodes are joined to the hub the session leaves
	old := s.client
	s.client = client
	s.opts.join, s.opts.token = url, token
	old.Close()
	if s.local != nil {
		s.local.Stop()
		s.local = nil
	}
	s.stopDashboard() // it watched the old hub
	if s.hub != nil {
		s.hub.Shutdown()
		s.hub = nil
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.WaitNodes(wctx, 1); err != nil && ctx.Err() == nil {
		if others := client.OtherBuilds(); others != "" {
			return failure(kindNoNodes, "session: no node of %s can run this session's calls: %s", url, others)
		}
		return failure(kindNoNodes, "session: no node has joined %s yet: start one with rain node --join %s", url, url)
	}
	return s.shipModules(ctx)
}

// shipModules ships every loaded module to the nodes of the session's client, and waits for
// them: after the session moved to another hub.
func (s *Session) shipModules(ctx context.Context) error {
	for _, m := range s.modules {
		l, err := s.client.StartLoad(m.mod)
		if err != nil {
			return err
		}
		s.client.NameModule(m.mod.SHA256, m.name)
		if err := l.Wait(ctx); err != nil {
			if ctx.Err() == nil {
				l.Cancel() // as Client.Load does: the new nodes refused it
			}
			return err
		}
	}
	return nil
}
