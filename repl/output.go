package repl

import (
	"io"
	"strings"
	"sync"

	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-runewidth"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/session"
)

// printer is a session.Output that writes to a terminal or a file.
type printer struct {
	mu     sync.Mutex
	stdout io.Writer
	stderr io.Writer
	color  bool
	redraw bool   // stdout is a terminal: a live display is redrawn in place
	live   string // id of the live display
	// The live display's last text, and the width of its line as drawn.
	pending   string
	liveWidth int
	input     func(prompt string, password bool) (string, error) // nil: no input
	midLine   bool                                               // the last stdout write did not end a line
	prompt    bool                                               // interactive: output may come while the prompt waits
}

// prompted is the printer of an interactive REPL: what a cell began in the background (a
// module's load) may still print when it ends, above the prompt (readline redraws it).
type prompted struct{ *printer }

var _ session.Background = prompted{}

// InPlace is false: a terminal cannot redraw a display once the prompt is below it.
func (prompted) InPlace() bool { return false }

var _ session.Output = (*printer)(nil)

func (p *printer) Stream(name, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLive()
	if name == "stderr" {
		io.WriteString(p.stderr, p.style(text, "9"))
		return
	}
	io.WriteString(p.stdout, text)
	p.midLine = !strings.HasSuffix(text, "\n")
}

// Display prints a bundle's terminal text. A display with an id is live while it is updated
// (a progress bar): on a terminal it is redrawn in place, with "\r" and, with colours on, an
// erase-line sequence (no ANSI under NO_COLOR: the old line is blanked with spaces); elsewhere
// only its last text is printed, when it ends. An update with several lines (a summary) ends it,
// as does anything else printed.
func (p *printer) Display(b display.Bundle, id string, update bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	text := b.Text()
	if id == "" {
		p.endLive()
		io.WriteString(p.stdout, text+"\n")
		return
	}
	if p.live != id {
		p.endLive()
		p.live = id
		if p.redraw {
			io.WriteString(p.stdout, text)
			p.liveWidth = runewidth.StringWidth(text)
		}
	} else if p.redraw {
		first, _, _ := strings.Cut(text, "\n")
		if p.color {
			io.WriteString(p.stdout, "\r\033[K"+text)
		} else {
			pad := max(p.liveWidth-runewidth.StringWidth(first), 0)
			io.WriteString(p.stdout, "\r"+first+strings.Repeat(" ", pad)+text[len(first):])
		}
		p.liveWidth = runewidth.StringWidth(first)
	}
	p.pending = text
	if strings.Contains(text, "\n") {
		p.endLive()
	}
}

// endCell ends what a cell left open, a live display or a line without its newline, so that
// the prompt after it starts on a line of its own instead of drawing over it.
func (p *printer) endCell() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLive()
}

func (p *printer) endLive() {
	if p.live != "" {
		if !p.redraw {
			io.WriteString(p.stdout, p.pending)
		}
		io.WriteString(p.stdout, "\n")
		p.live, p.pending = "", ""
	}
	if p.midLine {
		io.WriteString(p.stdout, "\n")
		p.midLine = false
	}
}

// Clear does nothing in a terminal: what was printed stays.
func (p *printer) Clear(bool) {}

func (p *printer) Input(prompt string, password bool) (string, error) {
	if p.input == nil {
		return "", session.ErrNoStdin
	}
	p.mu.Lock()
	p.endLive()
	p.mu.Unlock()
	return p.input(prompt, password)
}

// value prints a cell's value.
func (p *printer) value(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLive()
	io.WriteString(p.stdout, text+"\n")
}

// error prints a failed cell: its one-line message, then its traceback.
func (p *printer) error(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLive()
	e, ok := err.(*session.Error)
	if !ok {
		e = &session.Error{Name: "Error", Value: err.Error()}
	}
	for _, line := range e.Traceback {
		io.WriteString(p.stderr, p.style(line, "8")+"\n")
	}
	io.WriteString(p.stderr, p.style(e.Name+": ", "9")+e.Value+"\n")
}

// style colours s when colours are on.
func (p *printer) style(s, color string) string {
	if !p.color {
		return s
	}
	r := display.Renderer(true)
	return r.NewStyle().Foreground(lipgloss.Color(color)).Render(s)
}
