package display

import (
	"fmt"
	"html"
	"strings"
)

// Progress is a progress display: text is its text/plain, a bar of Unicode lines followed by
// figures ("━━━━──── 512/1024 · …"), maybe with more lines under it (a summary once done);
// its text/html is a real bar, done/total wide, with the same figures beside it.
func Progress(text string, done, total int) Bundle {
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(min(max(done, 0), total)) / float64(total)
	}
	first, rest, _ := strings.Cut(text, "\n")
	figures := strings.TrimLeft(first, "━─ ")
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="rain-progress" style="font-family:monospace;white-space:nowrap">`+
		`<div style="display:inline-block;vertical-align:middle;width:16em;height:0.9em;background:#e6e6e6;border-radius:3px;overflow:hidden">`+
		`<div style="width:%.1f%%;height:100%%;background:#4e79a7"></div></div> %s</div>`, pct, html.EscapeString(figures))
	for _, line := range strings.Split(rest, "\n") {
		if line != "" {
			b.WriteString(`<div style="font-family:monospace">` + html.EscapeString(line) + `</div>`)
		}
	}
	return Bundle{"text/plain": text, "text/html": b.String()}
}
