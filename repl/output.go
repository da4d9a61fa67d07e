package repl

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/charmbracelet/lipgloss"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/session"
)

// printer is a session.Output that writes to a terminal or a file.
type printer struct {
	mu      sync.Mutex
	stdout  io.Writer
	stderr  io.Writer
	color   bool
	live    string                                             // id of the display being redrawn in place
	input   func(prompt string, password bool) (string, error) // nil: no input
	midLine bool                                               // the last stdout write did not end a line
}

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

// Display prints a bundle's terminal text; a display with an id is redrawn in place while it
// is updated (a progress bar), and ends its line when something else is printed.
func (p *printer) Display(b display.Bundle, id string, update bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	text := b.Text()
	if id != "" && (update || p.live == id) && p.live == id && !strings.Contains(text, "\n") {
		fmt.Fprintf(p.stdout, "\r\033[K%s", text)
		return
	}
	p.endLive()
	if id != "" && !strings.Contains(text, "\n") {
		io.WriteString(p.stdout, text)
		p.live = id
		return
	}
	io.WriteString(p.stdout, text+"\n")
}

func (p *printer) endLive() {
	if p.live != "" {
		io.WriteString(p.stdout, "\n")
		p.live = ""
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
