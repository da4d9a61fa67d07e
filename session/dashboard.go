package session

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/dashboard"
	"github.com/rain-wasm/rain/display"
)

// WithDashboard sets where the dashboard of the session's own hub listens (see
// package cluster/dashboard); an Addr that is Off serves none. The default is a free port on
// loopback. A session on another hub (WithJoin) serves one only when %dashboard finds none
// watching that hub.
func WithDashboard(a dashboard.Addr) Option {
	return func(o *options) error { o.dash = a; o.dashSet = true; return nil }
}

// startDashboard serves the dashboard of the session's own hub, unless it is off.
func (s *Session) startDashboard() error {
	if s.opts.dash.Off() {
		return nil
	}
	d, err := dashboard.Watch(s.hub, dashboard.WithAddr(s.opts.dash))
	if err != nil {
		return err
	}
	s.dash = d
	return nil
}

// stopDashboard stops the dashboard the session serves, if any.
func (s *Session) stopDashboard() {
	if s.dash != nil {
		s.dash.Close()
		s.dash = nil
	}
}

// magicDashboard: %dashboard shows the address of the dashboard that watches the session's hub.
func (s *Session) magicDashboard(thread *starlark.Thread, args string) (starlark.Value, error) {
	if strings.TrimSpace(args) != "" {
		return nil, usageError("usage: %%dashboard")
	}
	return s.dashboardLink(threadContext(thread))
}

// dashboardLink finds the dashboard of the session's hub: the session's own, one that already
// watches the hub (a `rain hub`'s), or one the session starts now to watch it.
func (s *Session) dashboardLink(ctx context.Context) (starlark.Value, error) {
	if s.dash != nil {
		return link{url: s.dash.URL(), note: "served by this session, for its own hub"}, nil
	}
	u, err := s.client.Dashboard(ctx)
	if err == nil {
		note := "the dashboard that watches this hub"
		if remoteLoopback(u, s.opts.join) {
			note = "the dashboard that watches this hub, on the loopback of the hub's machine: open it there, or start `rain hub` with --dashboard 0.0.0.0:PORT"
		}
		return link{url: u, note: note}, nil
	}
	if !errors.Is(err, cluster.ErrNoDashboard) {
		return nil, err
	}
	if s.opts.dash.Off() {
		return nil, fmt.Errorf("session: no dashboard watches this hub, and this session serves none (--dashboard off)")
	}
	opts := []dashboard.Option{dashboard.WithAddr(s.opts.dash)}
	if s.opts.tls != (cluster.TLS{}) {
		opts = append(opts, dashboard.WithTLS(s.opts.tls))
	}
	d, err := dashboard.WatchURL(ctx, s.opts.join, s.opts.token, opts...)
	if err != nil {
		return nil, err
	}
	s.dash = d
	return link{url: d.URL(), note: "served by this session: no dashboard watched the hub"}, nil
}

// remoteLoopback says whether page, a dashboard's address, is on the loopback of a hub that is
// on another machine (hub is its URL, or a list of them): this machine cannot open it.
func remoteLoopback(page, hub string) bool {
	p, err := url.Parse(page)
	if err != nil || !isLoopback(p.Hostname()) {
		return false
	}
	for _, raw := range strings.Split(hub, ",") {
		raw = strings.TrimSpace(raw)
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw
		}
		if h, err := url.Parse(raw); err == nil && isLoopback(h.Hostname()) {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// link is the address of a page: a link in Jupyter, a line in a terminal.
type link struct{ url, note string }

var (
	_ display.Shower     = link{}
	_ display.Terminaler = link{}
)

func (l link) String() string        { return "dashboard: " + l.url + " (" + l.note + ")" }
func (l link) Type() string          { return "dashboard" }
func (l link) Freeze()               {}
func (l link) Truth() starlark.Bool  { return true }
func (l link) Hash() (uint32, error) { return starlark.String(l.url).Hash() }

// Show is the link as text/plain and as text/html, which opens the page in a new tab.
func (l link) Show() display.Bundle {
	u := html.EscapeString(l.url)
	return display.Bundle{
		"text/plain": l.String(),
		"text/html":  `<a href="` + u + `" target="_blank" rel="noopener">Rain dashboard</a> <code>` + u + `</code> <small>(` + html.EscapeString(l.note) + `)</small>`,
	}
}

// Terminal is the address on a line of its own, which terminals let one click or copy whole.
func (l link) Terminal(bool) string { return "dashboard: " + l.url + "\n(" + l.note + ")" }
