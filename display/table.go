package display

import (
	"html"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/mattn/go-runewidth"
	"github.com/muesli/termenv"
)

// Table is rows of text under headers, with an optional title above and a note below.
// Columns named in Right are right-aligned (numbers).
type Table struct {
	Title   string
	Headers []string
	Rows    [][]string
	Note    string
	Right   map[int]bool
}

// Bundle is the table as text/plain (aligned columns), text/html, and its data as
// application/json.
func (t *Table) Bundle() Bundle {
	return Bundle{"text/plain": t.Plain(), "text/html": t.HTML()}
}

// Plain is the table as aligned columns of plain text.
func (t *Table) Plain() string {
	widths := make([]int, len(t.Headers))
	all := append([][]string{t.Headers}, t.Rows...)
	for _, row := range all {
		for i, c := range row {
			if i < len(widths) {
				widths[i] = max(widths[i], runewidth.StringWidth(c))
			}
		}
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n")
	}
	for _, row := range all {
		var line strings.Builder
		for i, c := range row {
			if i >= len(widths) {
				break
			}
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-runewidth.StringWidth(c))
			if t.Right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	if t.Note != "" {
		b.WriteString(t.Note + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// HTML is the table as an HTML table with a caption.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<table class="rain-table">`)
	if t.Title != "" {
		b.WriteString(`<caption style="text-align:left;font-weight:bold;white-space:nowrap">` + html.EscapeString(t.Title) + `</caption>`)
	}
	b.WriteString("<thead><tr>")
	for i, h := range t.Headers {
		b.WriteString(`<th` + t.align(i) + `>` + html.EscapeString(h) + "</th>")
	}
	b.WriteString("</tr></thead><tbody>")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for i, c := range row {
			b.WriteString(`<td` + t.align(i) + `>` + html.EscapeString(c) + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	if t.Note != "" {
		b.WriteString(`<p style="font-size:smaller">` + html.EscapeString(t.Note) + "</p>")
	}
	return b.String()
}

func (t *Table) align(col int) string {
	if t.Right[col] {
		return ` style="text-align:right"`
	}
	return ` style="text-align:left"`
}

// Terminal is the table drawn for a terminal with lipgloss; color false gives plain text
// (NO_COLOR, or output that is not a terminal).
func (t *Table) Terminal(color bool) string {
	r := Renderer(color)
	head := r.NewStyle().Bold(true).Padding(0, 1)
	cell := r.NewStyle().Padding(0, 1)
	tb := table.New().
		Border(lipgloss.RoundedBorder()).
		BorderStyle(r.NewStyle().Foreground(lipgloss.Color("8"))).
		Headers(t.Headers...).
		Rows(t.Rows...).
		StyleFunc(func(row, col int) lipgloss.Style {
			s := cell
			if row == table.HeaderRow {
				s = head.Foreground(lipgloss.Color("12"))
			}
			if t.Right[col] {
				s = s.Align(lipgloss.Right)
			}
			return s
		})
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(r.NewStyle().Bold(true).Render(t.Title) + "\n")
	}
	b.WriteString(tb.Render())
	if t.Note != "" {
		b.WriteString("\n" + r.NewStyle().Faint(true).Render(t.Note))
	}
	return b.String()
}

// Renderer is a lipgloss renderer with colours on or off, independent of the process's stdout.
func Renderer(color bool) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}
