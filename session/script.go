package session

import "strings"

// SplitCells splits a script into cells at lines that start with "# %%" (the percent format
// of Jupytext and VS Code). Each cell is padded with empty lines so that line numbers in
// errors are those of the script. A script without markers is one cell.
func SplitCells(src string) []string {
	lines := strings.Split(src, "\n")
	var cells []string
	start := 0
	flush := func(end int) {
		body := strings.Join(lines[start:end], "\n")
		if strings.TrimSpace(body) != "" {
			cells = append(cells, strings.Repeat("\n", start)+body)
		}
	}
	for i, line := range lines {
		if strings.HasPrefix(line, "# %%") {
			flush(i)
			start = i + 1
		}
	}
	flush(len(lines))
	return cells
}
