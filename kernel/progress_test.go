package kernel

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/session"
)

// TestMapProgress runs a map long enough to show its progress bar on a real session with 2
// local nodes (this test binary): iopub carries a display_data with a transient display_id,
// update_display_data with the same id while the map runs, and a last update that is the
// summary; then the map's value as execute_result.
func TestMapProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 2 nodes and runs a map of about a second")
	}
	t.Setenv(testProcessEnv, "1") // the nodes are this binary's "node" command
	tk := startKernelWith(t, func(ctx context.Context) (engine, error) {
		return session.New(ctx, session.WithNodes(2), session.WithRainBinary(os.Args[0]), session.WithWorkDir("../examples"))
	})
	if reply, iopub := tk.execute("%load basics.wasm as b", nil); content(reply)["status"] != "ok" {
		t.Fatalf("load: %s\n%s", reply.Content, types(iopub))
	}
	reply, iopub := tk.execute("pmap(b.fib, [28]*300, chunk=1)", nil)
	if content(reply)["status"] != "ok" {
		t.Fatalf("pmap: %s", reply.Content)
	}
	var id string
	var updates []map[string]any
	for _, m := range iopub {
		c := content(m)
		switch m.Header.MsgType {
		case "display_data":
			tr, _ := c["transient"].(map[string]any)
			if id != "" || tr == nil || !strings.HasPrefix(tr["display_id"].(string), "pmap-") {
				t.Errorf("display_data %v (a second, or without a display_id)", c)
				continue
			}
			id = tr["display_id"].(string)
		case "update_display_data":
			tr, _ := c["transient"].(map[string]any)
			if id == "" || tr == nil || tr["display_id"] != id {
				t.Errorf("update_display_data %v before the display, or for another id than %q", c, id)
			}
			updates = append(updates, c["data"].(map[string]any))
		}
	}
	if id == "" || len(updates) < 2 { // one while it runs, at least, and the summary
		t.Fatalf("no progress display, or no update before the summary: %s", types(iopub))
	}
	last := updates[len(updates)-1]
	text, _ := last["text/plain"].(string)
	html, _ := last["text/html"].(string)
	if !strings.HasPrefix(text, "━━━━━━━━━━━━━━━━━━━━ 300/300") || !strings.Contains(text, "\n300 tasks on 2 nodes") ||
		!strings.Contains(html, "width:100.0%") {
		t.Errorf("the last update is not the summary:\n%s\n%s", text, html)
	}
	if got := types(iopub); !strings.HasSuffix(got, "update_display_data execute_result status:idle") {
		t.Errorf("iopub: %s", got)
	}
	t.Logf("%d updates of %s; last:\n%s", len(updates), id, text)
}
