package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/internal/units"
)

// How `%cluster launch` waits: at most launchWait for the job's nodes to join (a job pending
// in a queue with a reason returns at once), redrawing its line every launchEvery; the display
// then follows the job until it ends.
const (
	launchWait  = time.Minute
	launchEvery = 250 * time.Millisecond
	// jobStopWait bounds how long the end of a session waits for its jobs to end.
	jobStopWait = 30 * time.Second
)

// jobs are the jobs a session launched, in order.
type jobs struct {
	mu     sync.Mutex
	list   []*launch.Job
	joined map[*launch.Job]time.Duration // how long each job's nodes took to join, once they have
}

func (js *jobs) add(j *launch.Job) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.list = append(js.list, j)
}

func (js *jobs) all() []*launch.Job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return slices.Clone(js.list)
}

// find is the job called name, or the one job whose name begins with it ("local" for
// local-2e8ee8), or nil.
func (js *jobs) find(name string) *launch.Job {
	var found *launch.Job
	for _, j := range js.all() {
		switch {
		case j.Name == name:
			return j
		case strings.HasPrefix(j.Name, name) && found == nil:
			found = j
		case strings.HasPrefix(j.Name, name):
			return nil // two of them
		}
	}
	return found
}

// stopAll ends every job, together, and waits at most jobStopWait for them.
func (js *jobs) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), jobStopWait)
	defer cancel()
	var wg sync.WaitGroup
	for _, j := range js.all() {
		wg.Go(func() { j.Stop(ctx) })
	}
	wg.Wait()
}

// magicLaunch is `%cluster launch LAUNCHER ...`: it starts the job, shows it, and waits for
// its nodes (see launchWait).
func (s *Session) magicLaunch(thread *starlark.Thread, args string) (starlark.Value, error) {
	words, err := splitWords(args)
	if err != nil {
		return nil, usageError("%%cluster launch: %v", err)
	}
	req, err := launch.ParseRequest(words, s.opts.node, nil)
	if err != nil {
		return nil, launchError(err)
	}
	ctx := threadContext(thread)
	if s.opts.tls != (cluster.TLS{}) {
		return nil, failure(kindLaunch, "nodes that join over TLS are not launched yet: start them with rain node --join URL --tls-ca ... on their machines")
	}
	rain := s.opts.rain
	if rain == "" {
		if rain, err = os.Executable(); err != nil {
			return nil, failure(kindLaunch, "cannot find this executable for the nodes: %v", err)
		}
	}
	opts := []launch.Option{launch.WithBinary(rain)}
	hubURL, token, err := s.launchHub(ctx, req, opts)
	if err != nil {
		return nil, launchError(err)
	}
	j, err := launch.Start(ctx, req, hubURL, token, opts...)
	if err != nil {
		return nil, launchError(err)
	}
	s.jobs.add(j)
	v := &jobValue{s: s, job: j}
	out := threadOutput(thread)
	id := "job-" + randomHex(6)
	line := v.line()
	out.Display(v.bundle(), id, false)
	if err := v.waitJoined(ctx, func() {
		if l := v.line(); l != line {
			line = l
			out.Display(v.bundle(), id, true)
		}
	}); err != nil {
		return nil, err
	}
	out.Display(v.bundle(), id, true)
	if bg, ok := out.(Background); ok && !j.Status().State.Ended() {
		go v.follow(bg, id)
	}
	return v, nil
}

// launchError is a launch's error as a cell's: a UsageError for its words, else a
// LaunchError of one line.
func launchError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "launch: ")
	if errors.Is(err, launch.ErrUsage) {
		return usageError("%%cluster launch: %s", strings.TrimPrefix(msg, "usage: "))
	}
	return failure(kindLaunch, "%s", msg)
}

// launchHub is the hub URL and token a request's nodes join with. The session's own hub is
// given at the address the nodes reach this machine at (launch.Request.HubAddr); when that is
// beyond loopback and the hub listens on loopback only, the hub moves to every interface first,
// unless --listen chose its address. A hub the session joined is given as it is.
func (s *Session) launchHub(ctx context.Context, req launch.Request, opts []launch.Option) (string, string, error) {
	addr, err := req.HubAddr(ctx, opts...)
	if err != nil {
		return "", "", err
	}
	if s.hub == nil {
		return s.opts.join, s.opts.token, launch.CheckReach(s.opts.join, addr)
	}
	if !addr.IsLoopback() && !s.hub.Reachable() {
		if s.opts.listen != "" {
			return "", "", fmt.Errorf("launch: the session's hub listens on %s (--listen), out of the nodes' reach: start the session with --listen 0.0.0.0 or %s", s.opts.listen, addr)
		}
		if err := s.rehost(ctx, "0.0.0.0"); err != nil {
			return "", "", err
		}
	}
	u, err := url.Parse(s.hub.URL())
	if err != nil {
		return "", "", err
	}
	_, port, _ := net.SplitHostPort(u.Host)
	u.Host = net.JoinHostPort(addr.String(), port)
	return u.String(), s.hub.Token(), nil
}

// rehost moves the session's own hub to listen on host, with the same token: a new hub
// starts, the client, the local nodes and the dashboard move to it, the old hub stops, and
// loaded modules are shipped to the nodes again. Jobs joined to the old hub would be cut off: with any running, it
// refuses.
func (s *Session) rehost(ctx context.Context, host string) error {
	for _, j := range s.jobs.all() {
		if !j.Status().State.Ended() {
			return fmt.Errorf("launch: the session's hub listens on loopback only, and job %s is joined to it: stop it, or start the session with --listen 0.0.0.0", j.Name)
		}
	}
	hub, err := cluster.StartHub(cluster.WithHubHost(host), cluster.WithHubToken(s.hub.Token()))
	if err != nil {
		return err
	}
	client, err := cluster.Connect(ctx, hub.URL(), hub.Token(), s.clientOptions()...)
	if err != nil {
		hub.Shutdown()
		return err
	}
	var local *launch.LocalNodes
	if s.local != nil {
		if local, err = launch.Local(ctx, s.opts.rain, s.opts.nodes, hub.URL(), hub.Token(), s.opts.node); err != nil {
			client.Close()
			hub.Shutdown()
			return err
		}
	}
	oldClient, oldLocal, oldHub := s.client, s.local, s.hub
	s.client, s.local, s.hub = client, local, hub
	s.opts.listen = host
	oldClient.Close()
	if oldLocal != nil {
		oldLocal.Stop()
	}
	if s.dash != nil { // it watched the old hub: it watches the new one, at the address it was given
		s.stopDashboard()
		if err := s.startDashboard(); err != nil {
			oldHub.Shutdown()
			return err
		}
	}
	oldHub.Shutdown()
	if local != nil {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		client.WaitNodes(wctx, s.opts.nodes)
		cancel()
	}
	return s.shipModules(ctx)
}

// splitWords splits a magic's arguments into words as a shell does: at spaces, but not inside
// single or double quotes, and a backslash keeps the next character.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord, quote := false, rune(0)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '\'':
			w.WriteRune(c)
		case c == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		case quote != 0:
			w.WriteRune(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("a %c is not closed", quote)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// jobValue is a launched job as a cell's value: job.name, job.state, job.nodes, job.stop().
type jobValue struct {
	s   *Session
	job *launch.Job
}

var (
	_ starlark.HasAttrs = (*jobValue)(nil)
	_ display.Shower    = (*jobValue)(nil)
)

func (v *jobValue) String() string        { return v.line() }
func (v *jobValue) Type() string          { return "job" }
func (v *jobValue) Freeze()               {}
func (v *jobValue) Truth() starlark.Bool  { return true }
func (v *jobValue) Hash() (uint32, error) { return starlark.String(v.job.Name).Hash() }

// Show is the job's line, and in HTML a table of it.
func (v *jobValue) Show() display.Bundle { return v.bundle() }

var jobAttrs = []string{"name", "launcher", "id", "state", "reason", "nodes", "output", "stop"}

func (v *jobValue) AttrNames() []string { return jobAttrs }

func (v *jobValue) Attr(name string) (starlark.Value, error) {
	st := v.job.Status()
	switch name {
	case "name":
		return starlark.String(v.job.Name), nil
	case "launcher":
		return starlark.String(v.job.Launcher), nil
	case "id":
		return starlark.String(v.job.SchedulerID), nil
	case "state":
		return starlark.String(st.State.String()), nil
	case "reason":
		return starlark.String(st.Reason), nil
	case "nodes":
		ids := v.nodes()
		list := make([]starlark.Value, len(ids))
		for i, id := range ids {
			list[i] = starlark.String(id)
		}
		return starlark.NewList(list), nil
	case "output":
		return starlark.String(v.job.Output), nil
	case "stop":
		return starlark.NewBuiltin("stop", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := unpackPositional("job.stop", args, kwargs, 0); err != nil {
				return nil, err
			}
			return v.stop(threadContext(thread))
		}), nil
	}
	return nil, nil
}

// nodes are the IDs of the job's nodes on the hub now. Seeing one tells the job it runs.
func (v *jobValue) nodes() []string {
	var ids []string
	for _, n := range v.s.client.Nodes() {
		if n.Ready && v.job.Owns(n.ID) {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) > 0 {
		v.job.SawNode()
	}
	return ids
}

// stop ends the job and says how it ended.
func (v *jobValue) stop(ctx context.Context) (starlark.Value, error) {
	if err := v.job.Stop(ctx); err != nil {
		return nil, launchError(err)
	}
	return Text(v.line()), nil
}

// line is the job in one line: "slurm-1234 · running · 16/16 nodes joined after 3.2 s",
// "slurm-1234 · pending (Priority) · 0/16 nodes", "mpi-3fa2c1 · failed: why".
func (v *jobValue) line() string {
	joined := len(v.nodes())
	st := v.job.Status()
	s := v.job.Name + " · " + st.String()
	switch {
	case st.State == launch.Failed:
		return s
	case st.State.Ended():
		return s + fmt.Sprintf(" · %d node%s", v.job.Nodes, plural(v.job.Nodes))
	case joined == v.job.Nodes:
		return s + fmt.Sprintf(" · %d/%d nodes joined after %s", joined, v.job.Nodes, units.Duration(v.joinedAfter()))
	}
	return s + fmt.Sprintf(" · %d/%d nodes · %s", joined, v.job.Nodes, units.Duration(time.Since(v.job.Started).Round(time.Second)))
}

// joinedAfter is how long the job's nodes took to join, once all have: measured the first
// time the session sees them all.
func (v *jobValue) joinedAfter() time.Duration {
	v.s.jobs.mu.Lock()
	defer v.s.jobs.mu.Unlock()
	if v.s.jobs.joined == nil {
		v.s.jobs.joined = map[*launch.Job]time.Duration{}
	}
	d, ok := v.s.jobs.joined[v.job]
	if !ok {
		d = time.Since(v.job.Started)
		v.s.jobs.joined[v.job] = d
	}
	return d
}

// bundle is the line, and in HTML a table of the job.
func (v *jobValue) bundle() display.Bundle {
	line := v.line()
	st := v.job.Status()
	t := &display.Table{Title: line, Headers: []string{"job", "launcher", "scheduler ID", "state", "nodes", "output"}}
	t.Rows = append(t.Rows, []string{v.job.Name, v.job.Launcher, v.job.SchedulerID, st.String(), fmt.Sprintf("%d/%d", len(v.nodes()), v.job.Nodes), v.job.Output})
	return display.Bundle{"text/plain": line, "text/html": t.HTML()}
}

// waitJoined waits until the job's nodes have joined, calling tick every launchEvery; it
// returns at once for a job pending in a queue for a reason, and after launchWait or an
// interrupt, with the job going on. A job that ends first is an error of one line.
func (v *jobValue) waitJoined(ctx context.Context, tick func()) error {
	deadline := time.NewTimer(launchWait)
	defer deadline.Stop()
	every := time.NewTicker(launchEvery)
	defer every.Stop()
	for {
		st := v.job.Status()
		switch {
		case st.State == launch.Failed:
			return failure(kindLaunch, "%s failed: %s", v.job.Name, st.Reason)
		case st.State.Ended():
			return failure(kindLaunch, "%s ended before its nodes joined: %s", v.job.Name, st)
		case st.State == launch.Pending && st.Reason != "":
			return nil
		case len(v.nodes()) == v.job.Nodes:
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return nil
		case <-v.job.Changed():
		case <-every.C:
			tick()
		}
	}
}

// follow shows the job as it goes on after its cell returned, until it ends: redrawn in place
// where out can; else its line once more when its state changes, or all its nodes joined.
func (v *jobValue) follow(out Background, id string) {
	every := time.NewTicker(launchEvery)
	defer every.Stop()
	prevLine, prevState, prevAll := v.line(), v.job.Status(), len(v.nodes()) == v.job.Nodes
	for {
		select {
		case <-every.C:
		case <-v.job.Changed():
		case <-v.job.Ended():
		}
		line, st := v.line(), v.job.Status()
		all := len(v.nodes()) == v.job.Nodes
		switch {
		case out.InPlace() && line != prevLine:
			out.Display(v.bundle(), id, true)
		case !out.InPlace() && st.Reason == "stopped":
			// %cluster stop (or the session's end) said so itself
		case !out.InPlace() && (st != prevState || all && !prevAll):
			out.Display(display.Plain(line), "", false)
		}
		if st.State.Ended() {
			return
		}
		prevLine, prevState, prevAll = line, st, all
	}
}

// jobsTable lists the session's jobs.
func (s *Session) jobsTable() *display.Table {
	t := &display.Table{Headers: []string{"job", "launcher", "scheduler ID", "state", "nodes", "output"}}
	for _, j := range s.jobs.all() {
		v := &jobValue{s: s, job: j}
		t.Rows = append(t.Rows, []string{j.Name, j.Launcher, j.SchedulerID, j.Status().String(), fmt.Sprintf("%d/%d", len(v.nodes()), j.Nodes), j.Output})
	}
	return t
}

// magicStop is `%cluster stop JOB`.
func (s *Session) magicStop(thread *starlark.Thread, name string) (starlark.Value, error) {
	j := s.jobs.find(name)
	if j == nil {
		var names []string
		for _, j := range s.jobs.all() {
			names = append(names, j.Name)
		}
		if len(names) == 0 {
			return nil, usageError("%%cluster stop: no job is called %q: this session launched none", name)
		}
		return nil, usageError("%%cluster stop: no job is called %q: the session's jobs are %s", name, strings.Join(names, ", "))
	}
	return (&jobValue{s: s, job: j}).stop(threadContext(thread))
}
