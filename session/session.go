package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/dashboard"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/display"
)

// Option configures a Session.
type Option func(*options) error

type options struct {
	nodes   int
	node    node.Settings // of the local nodes
	rain    string        // the rain binary local nodes run
	join    string
	token   string
	workDir string
	tls     cluster.TLS
	listen  string
	hubWait time.Duration // 0: cluster.DefaultHubTimeout
	cells   string        // where built cells are kept; "" keeps none
	dash    dashboard.Addr
	dashSet bool // dash was given: else a free port on loopback
}

// WithListen sets the address the session's own hub listens on. The default, 127.0.0.1,
// admits only this machine's nodes, until %cluster launch starts nodes that reach this machine
// beyond loopback: the hub then moves to every interface (0.0.0.0). Given, the address stays:
// 0.0.0.0 lets other machines join (with the token) from the start.
func WithListen(host string) Option {
	return func(o *options) error { o.listen = host; return nil }
}

// WithTLS connects to the hub over TLS (see cluster.TLS). The default is no TLS.
func WithTLS(t cluster.TLS) Option {
	return func(o *options) error { o.tls = t; return nil }
}

// WithNodes sets how many local nodes the session starts. The default is 2; 0 starts none
// (useful with WithJoin).
func WithNodes(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("session: --nodes must be 0 or more, got %d", n)
		}
		o.nodes = n
		return nil
	}
}

// WithNodeSettings sets how the local nodes the session starts run modules and where they keep
// them (see node.Settings). The default is node.DefaultSettings().
func WithNodeSettings(s node.Settings) Option {
	return func(o *options) error { o.node = s; return nil }
}

// WithRainBinary sets the rain binary that local nodes run, as `rain node` (see
// launch.Local). The default is this executable.
func WithRainBinary(path string) Option {
	return func(o *options) error { o.rain = path; return nil }
}

// WithJoin uses an existing hub instead of starting one: a `rain hub`, or any NATS server or
// cluster (url may list several of its servers, comma-separated). Local nodes join it too.
// The default is a hub of the session's own, an embedded NATS server.
func WithJoin(url, token string) Option {
	return func(o *options) error {
		if err := CheckURL(url); err != nil {
			return err
		}
		o.join, o.token = url, token
		return nil
	}
}

// WithHubTimeout sets how long a cell waits for a hub the session lost (a `rain hub` or NATS
// server that went away) before it fails with one line saying so; the session keeps trying to
// reach the hub, and a later cell runs once it is back. The default is cluster.DefaultHubTimeout
// (30 s). A hub the session started itself cannot go away.
func WithHubTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("session: --hub-timeout must be more than 0, got %v", d)
		}
		o.hubWait = d
		return nil
	}
}

// WithWorkDir makes relative paths in cells (%load, completions) relative to dir. The default
// is the process's working directory.
func WithWorkDir(dir string) Option {
	return func(o *options) error { o.workDir = dir; return nil }
}

// WithCellCache sets the directory where the modules that cells build (%%c, %%go, %%rust,
// %%ts, %%wat) are kept, so that an unchanged cell is not compiled again; "" keeps none. The
// default is rain/cells in the user's cache directory (os.UserCacheDir).
func WithCellCache(dir string) Option {
	return func(o *options) error { o.cells = dir; return nil }
}

// Session holds a cell language's state: globals, loaded modules and the cluster client.
type Session struct {
	opts    options
	magics  map[string]*magic
	builtin starlark.StringDict

	mu      sync.Mutex // guards globals and modules, read by Complete while a cell runs
	globals starlark.StringDict
	modules map[string]*Module // by SHA-256
	insp    *inspector         // the modules' metrics, for %inspect

	compiler  *compiler           // builds the modules of %%c, %%go, %%rust, %%ts and %%wat cells
	scattered map[*Scattered]bool // arrays kept on the nodes, until freed (see collectScattered)

	hub    *cluster.Hub
	dash   *dashboard.Server // the session's own hub's, or one %dashboard started
	local  *launch.LocalNodes
	client *cluster.Client
	jobs   jobs // launched with %cluster launch

	loadShowAfter time.Duration // how long a load runs before it shows its progress; 0 is loadShowAfter
}

// fileOptions are the Starlark dialect of cells: while loops, sets, top-level if/for,
// reassignable globals and recursion, as Python users expect.
func fileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
}

// New starts a session: it connects to (or starts) a hub and brings up local nodes in the
// background; the session is usable at once and calls wait for the first node.
func New(ctx context.Context, opts ...Option) (*Session, error) {
	o := options{nodes: 2, node: node.DefaultSettings(), cells: defaultCellCache()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.workDir == "" {
		o.workDir, _ = os.Getwd()
	}
	if !o.dashSet {
		o.dash, _ = dashboard.ParseAddr(dashboard.DefaultAddr)
	}
	if o.rain == "" && o.nodes > 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("session: cannot find this executable to start nodes: %w", err)
		}
		o.rain = exe
	}
	s := &Session{opts: o, modules: map[string]*Module{}, insp: newInspector(), compiler: newCompiler(o.cells), scattered: map[*Scattered]bool{}}
	s.magics = s.newMagics()
	s.builtin = s.newBuiltins()
	s.globals = starlark.StringDict{}
	for k, v := range s.builtin {
		s.globals[k] = v
	}
	url, token := o.join, o.token
	if url == "" {
		var hopts []cluster.HubOption
		if o.listen != "" {
			hopts = append(hopts, cluster.WithHubHost(o.listen))
		}
		hub, err := cluster.StartHub(hopts...)
		if err != nil {
			return nil, err
		}
		s.hub = hub
		url, token = hub.URL(), hub.Token()
		if err := s.startDashboard(); err != nil {
			s.Close()
			return nil, err
		}
	}
	client, err := cluster.Connect(ctx, url, token, s.clientOptions()...)
	if err != nil {
		s.Close()
		return nil, dialError(url, err)
	}
	s.client = client
	if o.nodes > 0 {
		local, err := launch.Local(ctx, o.rain, o.nodes, url, token, o.node)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.local = local
	}
	return s, nil
}

// clientOptions are the options of the session's cluster client.
func (s *Session) clientOptions() []cluster.ClientOption {
	var copts []cluster.ClientOption
	if s.opts.tls != (cluster.TLS{}) {
		copts = append(copts, cluster.WithClientTLS(s.opts.tls))
	}
	if s.opts.hubWait > 0 {
		copts = append(copts, cluster.WithHubTimeout(s.opts.hubWait))
	}
	return copts
}

// WaitNodes waits until n nodes are ready or ctx ends.
func (s *Session) WaitNodes(ctx context.Context, n int) error { return s.client.WaitNodes(ctx, n) }

// Close stops the jobs the session launched, local nodes, the hub and the resident compilers
// the session started.
func (s *Session) Close() error {
	s.jobs.stopAll()
	s.compiler.close()
	if s.local != nil {
		s.local.Stop()
	}
	if s.client != nil {
		s.client.Close()
	}
	s.stopDashboard()
	if s.hub != nil {
		s.hub.Shutdown()
	}
	return nil
}

// Banner describes the session: version, nodes, their architecture and engine.
func (s *Session) Banner() string {
	return fmt.Sprintf("Rain %s — WebAssembly on a cluster · %s\n%%help lists the magics and builtins; `name?` explains one.", Version, s.nodeSummary())
}

// Version is Rain's version.
const Version = "0.1.0"

// nodeSummary says how many nodes are up, on what, running which engine.
func (s *Session) nodeSummary() string {
	nodes := s.client.Nodes()
	if len(nodes) == 0 {
		if s.local != nil {
			return fmt.Sprintf("starting %d local nodes", s.opts.nodes)
		}
		return "no nodes yet"
	}
	kinds := map[string]int{}
	for _, n := range nodes {
		kinds[n.OS+"/"+n.Arch+", "+n.Engine]++
	}
	var parts []string
	for k, c := range kinds {
		parts = append(parts, fmt.Sprintf("%d× %s", c, k))
	}
	sort.Strings(parts)
	word := "nodes"
	if len(nodes) == 1 {
		word = "node"
	}
	return fmt.Sprintf("%d %s (%s)", len(nodes), word, strings.Join(parts, "; "))
}

// Exec runs one cell. It returns the value of the cell's last expression (nil if none, or if
// it is None), ready to show: an array comes wrapped so that a terminal also gets its
// picture's file. Errors are *Error. Cancelling ctx interrupts running Wasm on every node
// within a second and stops Starlark loops; the session's state is kept.
func (s *Session) Exec(ctx context.Context, code string, out Output) (starlark.Value, error) {
	v, err := s.exec(ctx, code, out)
	if err != nil {
		return nil, cellError(err)
	}
	if v == starlark.None {
		v = nil
	}
	return cellValue(v), nil
}

func (s *Session) exec(ctx context.Context, code string, out Output) (starlark.Value, error) {
	if strings.TrimSpace(code) == "" {
		return nil, nil
	}
	// The cell's calls end when the hub has been away for the hub timeout; its Starlark, which
	// needs no hub, only when it is interrupted.
	cctx := ctx
	if s.client != nil { // nil in a session of tests that need no cluster
		var unwatch context.CancelFunc
		cctx, unwatch = s.client.WatchHub(ctx)
		defer unwatch()
	}
	thread := s.newThread(cctx, out)
	stop := context.AfterFunc(ctx, func() { thread.Cancel("interrupted") })
	defer stop()
	v, err := s.execThread(thread, code)
	if m, ok := v.(*MapResult); ok && m.summedIn == thread {
		v = shownMapResult{m} // below its bar's summary
	}
	var hub *cluster.HubError
	if err != nil && ctx.Err() == nil && errors.As(context.Cause(cctx), &hub) &&
		(errors.Is(err, cluster.ErrInterrupted) || errors.Is(err, context.Canceled)) {
		return nil, hub // a call the hub's absence ended, not the user
	}
	return v, err
}

// execThread runs a cell on thread.
func (s *Session) execThread(thread *starlark.Thread, code string) (starlark.Value, error) {
	if first, body, _ := strings.Cut(strings.TrimLeft(code, "\n"), "\n"); strings.HasPrefix(first, "%%") {
		// The body keeps its place in the cell (and in a script): blank lines stand for the
		// magic's line and those above it, so a compiler's line numbers are the cell's.
		lead := len(code) - len(strings.TrimLeft(code, "\n"))
		return s.runCellMagic(thread, first, strings.Repeat("\n", lead+1)+body)
	}
	src, err := s.translate(code)
	if err != nil {
		return nil, err
	}
	f, err := fileOptions().Parse("<cell>", src, 0)
	if err != nil {
		return nil, err
	}
	// The last expression statement becomes an assignment to `_`, as in IPython.
	var last bool
	if n := len(f.Stmts); n > 0 {
		if e, ok := f.Stmts[n-1].(*syntax.ExprStmt); ok {
			start, _ := e.X.Span()
			f.Stmts[n-1] = &syntax.AssignStmt{OpPos: start, Op: syntax.EQ, LHS: &syntax.Ident{NamePos: start, Name: "_"}, RHS: e.X}
			last = true
		}
	}
	// The cell runs on a copy of the globals, so that completion and help can read them
	// while it runs; what it assigned is kept even when it fails, as in Python.
	s.mu.Lock()
	globals := make(starlark.StringDict, len(s.globals))
	for k, v := range s.globals {
		globals[k] = v
	}
	s.mu.Unlock()
	var deleted []string
	thread.SetLocal(delKey, &deleted)
	err = starlark.ExecREPLChunk(f, thread, globals)
	s.mu.Lock()
	for k, v := range globals {
		s.globals[k] = v
	}
	for _, k := range deleted {
		delete(s.globals, k)
		delete(globals, k)
	}
	s.mu.Unlock()
	s.collectScattered()
	if err != nil || !last {
		return nil, err
	}
	return globals["_"], nil
}

// newThread makes the Starlark thread one cell runs on.
func (s *Session) newThread(ctx context.Context, out Output) *starlark.Thread {
	thread := &starlark.Thread{
		Name:  "cell",
		Print: func(_ *starlark.Thread, msg string) { out.Stream("stdout", msg+"\n") },
	}
	thread.SetLocal(ctxKey, ctx)
	thread.SetLocal(outKey, out)
	return thread
}

const (
	ctxKey = "rain.ctx"
	outKey = "rain.out"
)

func threadContext(t *starlark.Thread) context.Context {
	if ctx, ok := t.Local(ctxKey).(context.Context); ok {
		return ctx
	}
	return context.Background()
}

func threadOutput(t *starlark.Thread) Output {
	if out, ok := t.Local(outKey).(Output); ok {
		return out
	}
	return discard{}
}

// discard is an Output that drops everything.
type discard struct{}

func (discard) Stream(string, string)                              {}
func (discard) Display(display.Bundle, string, bool)               {}
func (discard) Clear(bool)                                         {}
func (discard) Input(prompt string, password bool) (string, error) { return "", ErrNoStdin }

// Who lists the user's global names, sorted.
func (s *Session) Who() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userNames()
}

func (s *Session) userNames() []string {
	var names []string
	for k, v := range s.globals {
		if strings.HasPrefix(k, "_") {
			continue
		}
		if b, ok := s.builtin[k]; ok && b == v {
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
