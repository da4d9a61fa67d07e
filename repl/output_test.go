package repl

import (
	"strings"
	"testing"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/session"
)

func TestPrinter(t *testing.T) {
	tests := []struct {
		name   string
		do     func(p *printer)
		stdout string
		stderr string
	}{
		{"stream", func(p *printer) { p.Stream("stdout", "a\n"); p.Stream("stderr", "b\n") }, "a\n", "b\n"},
		{"not a terminal: a live display prints only its last text", func(p *printer) {
			p.Display(display.Plain("1/3"), "bar", false)
			p.Display(display.Plain("3/3"), "bar", true)
			p.value("done")
		}, "3/3\ndone\n", ""},
		{"not a terminal: a summary ends a live display", func(p *printer) {
			p.Display(display.Plain("1/3"), "bar", false)
			p.Display(display.Plain("3/3\n3 tasks"), "bar", true)
			p.value("done")
		}, "3/3\n3 tasks\ndone\n", ""},
		{"output without a newline is ended before a value", func(p *printer) {
			p.Stream("stdout", "partial")
			p.value("42")
		}, "partial\n42\n", ""},
		{"an error: traceback, then the one-line message", func(p *printer) {
			p.error(&session.Error{Name: "Trap", Value: "wasm: trap in f: unreachable", Traceback: []string{"Wasm stack:", "  f"}})
		}, "", "Wasm stack:\n  f\nTrap: wasm: trap in f: unreachable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			p := &printer{stdout: &out, stderr: &errOut}
			tt.do(p)
			if out.String() != tt.stdout || errOut.String() != tt.stderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", out.String(), errOut.String(), tt.stdout, tt.stderr)
			}
		})
	}
}

func TestPrinterRedraw(t *testing.T) {
	tests := []struct {
		name  string
		color bool
		want  string
	}{
		{"colours: erase the line", true, "10/30\r\x1b[K20/30\r\x1b[K3/3\n3 tasks\ndone\n"},
		{"NO_COLOR: no ANSI, blank the rest with spaces", false, "10/30\r20/30\r3/3  \n3 tasks\ndone\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			p := &printer{stdout: &out, stderr: &out, color: tt.color, redraw: true}
			p.Display(display.Plain("10/30"), "bar", false)
			p.Display(display.Plain("20/30"), "bar", true)
			p.Display(display.Plain("3/3\n3 tasks"), "bar", true)
			p.value("done")
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestPrinterInputWithoutTerminal(t *testing.T) {
	p := &printer{}
	if _, err := p.Input("? ", false); err != session.ErrNoStdin {
		t.Errorf("got %v, want ErrNoStdin", err)
	}
}
