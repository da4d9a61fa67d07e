package dashboard

import (
	"crypto/subtle"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

//go:embed static
var static embed.FS

// forbidden is the page of a request without the right token: one line.
const forbidden = "403 Forbidden: this Rain dashboard needs its token: open the address with ?token=… that `rain hub` printed, or that %dashboard shows in a session.\n"

// handler routes the dashboard's addresses.
func (s *Server) handler() http.Handler {
	files, _ := fs.Sub(static, "static")
	assets := http.FileServerFS(files)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.guard(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, files, "index.html")
	}))
	mux.Handle("GET /assets/", s.guard(func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix("/assets", assets).ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /events", s.guard(s.events))
	mux.HandleFunc("GET /api/state", s.guard(s.apiState))
	return mux
}

// cookie is the name of the cookie that keeps the token: one per port, since a browser sends
// a host's cookies to all its ports.
func (s *Server) cookie() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	return "rain-dashboard-" + port
}

// guard lets through requests that bring the token: in the URL (?token=), in the cookie the
// page's first request sets, or as "Authorization: Bearer TOKEN". Others get 403 and one line.
func (s *Server) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t := r.URL.Query().Get("token"); t != "" && s.token(t) {
			http.SetCookie(w, &http.Cookie{Name: s.cookie(), Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			h(w, r)
			return
		}
		if c, err := r.Cookie(s.cookie()); err == nil && s.token(c.Value) {
			h(w, r)
			return
		}
		if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.token(t) {
			h(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>403 · Rain dashboard</title><p>%s</p>\n", strings.TrimSpace(forbidden))
			return
		}
		http.Error(w, strings.TrimSpace(forbidden), http.StatusForbidden)
	}
}

func (s *Server) token(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.o.token)) == 1
}

// events streams the view to a page as server-sent events: one "update" event per tick, with
// the task stream's spans since the last one it sent. The first holds the whole window
// ("reset": true); so does any after the page fell a window behind. A page that loses the
// connection opens it again (the browser's EventSource does, after "retry").
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	if s.pages.Add(1) == 1 {
		s.watch() // clients start telling at once
	}
	defer func() {
		if s.pages.Add(-1) == 0 && !s.watched() {
			s.unwatch() // and stop at once
		}
	}()
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
		return
	}
	var sent uint64
	first := true
	for {
		view, seq, changed := s.st.current(first)
		if first || seq != sent {
			spans, reset := s.st.since(sent)                      // sent is 0 at first: the whole window
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second)) // a page that stopped reading is dropped
			_, err := fmt.Fprintf(w, "event: update\ndata: {\"seq\":%d,\"reset\":%t,\"state\":%s,\"spans\":[%s]}\n\n", seq, reset, view, spans)
			if err == nil {
				err = rc.Flush()
			}
			if err != nil {
				return
			}
			sent, first = seq, false
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-changed:
		}
	}
}

// apiState answers the view and the task stream's window as one JSON document. Sessions are
// told that someone watches for wire.WatchFor after it, as for an open page: a script that
// polls it sees their maps.
func (s *Server) apiState(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UnixNano()
	if last := s.polled.Swap(now); s.pages.Load() == 0 && now-last > int64(wire.WatchFor) {
		s.watch()
	}
	view, seq, _ := s.st.current(true)
	spans, _ := s.st.since(0)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "{\"seq\":%s,\"state\":%s,\"spans\":[%s]}\n", strconv.FormatUint(seq, 10), view, spans)
}
