package session

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/dashboard"
	"github.com/rain-wasm/rain/display"
)

// %dashboard shows the address of the page that watches the session's hub: the session's own
// for its own hub (a link in Jupyter, a line in a terminal), none with --dashboard off; on
// another hub, that hub's, or one the session starts when none watches it.
func TestDashboardMagic(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	open := func(t *testing.T, v any) string {
		t.Helper()
		l, ok := v.(link)
		if !ok {
			t.Fatalf("%%dashboard is a %T", v)
		}
		resp, err := http.Get(l.url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "Rain dashboard") {
			t.Errorf("%s: %s %.80q", l.url, resp.Status, b)
		}
		return l.note
	}

	t.Run("own hub", func(t *testing.T) {
		s := started(t, 0)
		v, err := s.Exec(ctx, "%dashboard", &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if note := open(t, v); !strings.Contains(note, "this session") {
			t.Errorf("note %q", note)
		}
		b := display.Of(v)
		if html, _ := b["text/html"].(string); !strings.Contains(html, `<a href="`+s.dash.URL()+`"`) {
			t.Errorf("text/html %q, want a link to %s", html, s.dash.URL())
		}
		if text := b.Text(); !strings.HasPrefix(text, "dashboard: http://127.0.0.1:") {
			t.Errorf("text/plain %q", text)
		}
	})

	t.Run("off", func(t *testing.T) {
		s := started(t, 0, WithDashboard(dashboard.Addr{}))
		if _, err := s.Exec(ctx, "%dashboard", &recorder{}); err == nil || !strings.Contains(err.Error(), "--dashboard off") {
			t.Errorf("%%dashboard with the dashboard off: %v", err)
		}
	})

	t.Run("shared hub", func(t *testing.T) {
		hub, err := cluster.StartHub()
		if err != nil {
			t.Fatal(err)
		}
		defer hub.Shutdown()
		s := started(t, 0, WithJoin(hub.URL(), hub.Token()))
		// No dashboard watches the hub: the session serves one.
		v, err := s.Exec(ctx, "%dashboard", &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if note := open(t, v); !strings.Contains(note, "no dashboard watched the hub") {
			t.Errorf("note %q", note)
		}
		// Another session on the hub finds that one.
		other := started(t, 0, WithJoin(hub.URL(), hub.Token()))
		w, err := other.Exec(ctx, "%dashboard", &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if w.(link).url != v.(link).url || w.(link).note != "the dashboard that watches this hub" {
			t.Errorf("the other session: %v, want %v, the dashboard that watches the hub", w, v)
		}
	})
}
