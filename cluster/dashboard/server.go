package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// ErrAddrInUse is returned by Watch and WatchURL when something else listens on the
// dashboard's address already.
var ErrAddrInUse = errors.New("dashboard: address in use")

// pingEvery is how often a dashboard with a page open measures each node's round trip.
const pingEvery = 2 * time.Second

// Server is a dashboard: it watches a hub and serves its page.
type Server struct {
	o       options
	nc      *nats.Conn
	ln      net.Listener
	srv     *http.Server
	st      *state
	url     string // the page's address, with its token
	id      string // in its Watch messages
	pages   atomic.Int32
	polled  atomic.Int64 // Unix ns of the last /api/state
	done    chan struct{}
	wg      sync.WaitGroup
	closing sync.Once
}

// Watch serves the dashboard of hub, a hub in this process, connected to it in-process.
func Watch(hub *cluster.Hub, opts ...Option) (*Server, error) {
	o, err := config(opts, hub.Token(), hub.JoinURL())
	if err != nil {
		return nil, err
	}
	nc, err := hub.Dial("rain dashboard")
	if err != nil {
		return nil, err
	}
	return start(o, nc)
}

// WatchURL serves the dashboard of the NATS server or cluster at url (comma-separated URLs)
// that Rain's nodes and sessions meet on, which it joins with token.
func WatchURL(ctx context.Context, url, token string, opts ...Option) (*Server, error) {
	o, err := config(opts, token, url)
	if err != nil {
		return nil, err
	}
	nc, err := wire.Dial(ctx, url, token, "rain dashboard", wire.FirstDial, -1, nil, o.tls.Options()...)
	if err != nil {
		return nil, err
	}
	return start(o, nc)
}

// config applies opts over the defaults: the cluster's token and the hub's name.
func config(opts []Option, token, hub string) (options, error) {
	o := options{addr: DefaultAddr, token: token, hub: hub}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.token == "" {
		o.token = wire.RandomHex(16)
	}
	return o, nil
}

func start(o options, nc *nats.Conn) (*Server, error) {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		nc.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%w: %s", ErrAddrInUse, o.addr)
		}
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s := &Server{o: o, nc: nc, ln: ln, st: newState(o.hub), id: wire.RandomHex(6), done: make(chan struct{})}
	s.url = pageURL(ln.Addr().(*net.TCPAddr), o.token)
	subs := map[string]nats.MsgHandler{
		wire.SubjStatus:   s.onStatus,
		wire.SubjActivity: s.onActivity,
		wire.SubjDashInfo: s.onInfo,
		wire.SubjHello: func(*nats.Msg) {
			if s.watched() {
				s.watch()
			}
		},
	}
	for subj, h := range subs {
		if _, err := nc.Subscribe(subj, h); err != nil {
			ln.Close()
			nc.Close()
			return nil, fmt.Errorf("dashboard: %w", err)
		}
	}
	nc.Publish(wire.SubjDiscover, nil) // the nodes say at once that they are there
	s.srv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.srv.Serve(ln)
	}()
	go func() {
		defer s.wg.Done()
		s.loop()
	}()
	return s, nil
}

// pageURL is the address of the page at addr: a listener on every interface is named by the
// machine's first address that is not loopback.
func pageURL(addr *net.TCPAddr, token string) string {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
					host = n.IP.String()
					break
				}
			}
		}
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, fmt.Sprint(addr.Port)), Path: "/",
		RawQuery: url.Values{"token": {token}}.Encode()}
	return u.String()
}

// URL is the page's address, with the token that opens it.
func (s *Server) URL() string { return s.url }

// Addr is the address the dashboard listens on, HOST:PORT.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving and watching; pages open lose their connection.
func (s *Server) Close() error {
	s.closing.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.srv.Shutdown(ctx) // event streams end with done
		s.srv.Close()
		s.nc.Close()
		s.wg.Wait()
	})
	return nil
}

func (s *Server) onStatus(m *nats.Msg) {
	if st, err := wire.DecodeStatus(m.Data); err == nil {
		s.st.status(st, time.Now())
	}
}

func (s *Server) onActivity(m *nats.Msg) {
	if a, err := wire.DecodeActivity(m.Data); err == nil {
		s.st.activity(a, time.Now())
	}
}

func (s *Server) onInfo(m *nats.Msg) {
	b, _ := json.Marshal(wire.DashInfo{V: wire.Version, URL: s.url})
	m.Respond(b)
}

// loop ticks 4 times a second: while pages are open it tells clients so, measures the nodes'
// round trips now and then, and has the state build the view the pages are sent.
func (s *Server) loop() {
	t := time.NewTicker(wire.ActivityEvery)
	defer t.Stop()
	var watched, pinged time.Time
	for {
		var now time.Time
		select {
		case <-s.done:
			return
		case now = <-t.C:
		}
		pages, active := int(s.pages.Load()), s.watched()
		if active && now.Sub(watched) >= wire.WatchEvery-wire.ActivityEvery/2 {
			s.watch()
			watched = now
		}
		if active && now.Sub(pinged) >= pingEvery {
			pinged = now
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.ping()
			}()
		}
		s.st.tick(now, pages, active)
	}
}

// watched says whether a page is open, or the data endpoint was asked lately.
func (s *Server) watched() bool {
	return s.pages.Load() > 0 || time.Since(time.Unix(0, s.polled.Load())) < wire.WatchFor
}

// watch tells clients that a page is open.
func (s *Server) watch() {
	b, _ := json.Marshal(wire.Watch{V: wire.Version, ID: s.id})
	s.nc.Publish(wire.SubjWatch, b)
}

// unwatch tells clients that the last page closed.
func (s *Server) unwatch() {
	b, _ := json.Marshal(wire.Watch{V: wire.Version, ID: s.id, Off: true})
	s.nc.Publish(wire.SubjWatch, b)
}

// ping measures the round trip to every node that is up, one after the other.
func (s *Server) ping() {
	s.st.mu.Lock()
	var ids []string
	for id, n := range s.st.nodes {
		if !n.lost {
			ids = append(ids, id)
		}
	}
	s.st.mu.Unlock()
	for _, id := range ids {
		t0 := time.Now()
		if _, err := s.nc.Request(wire.NodeSubject(id, "ping"), nil, time.Second); err == nil {
			s.st.rtt(id, time.Since(t0))
		}
		select {
		case <-s.done:
			return
		default:
		}
	}
}
