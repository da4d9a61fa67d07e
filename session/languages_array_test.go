package session

import (
	"testing"
)

// A cell in each language takes an output array from a cell, through the malloc and free it
// exports, and fills it as the C example does: one call, and a map with out= whose rows
// stack into the image.
func TestCellArrays(t *testing.T) {
	s := online(t, 2)
	buildRun(t, s, `ref = zeros(1024, "u8")
mandelbrot.row_pixels(512, ref)
image = pmap(mandelbrot.row_pixels, range(0, 1024, 64), out=zeros(1024, "u8")).stack()`)
	for _, cell := range mandelbrotCells {
		t.Run(cell.lang.magic, func(t *testing.T) {
			needTools(t, cell.lang)
			name := "px_" + cell.lang.magic
			buildRun(t, s, "%%"+cell.lang.magic+" "+name+"\n"+cellSource(t, cell.file))
			got := buildRun(t, s, `out = zeros(1024, "u8")
`+name+`.row_pixels(512, out)
rows = pmap(`+name+`.row_pixels, range(0, 1024, 64), out=zeros(1024, "u8")).stack()
[out == ref, out.sum() > 0, rows.shape, rows == image]`)
			if got != "[True, True, (16, 1024), True]" {
				t.Errorf("row_pixels from a cell: %s, want [True, True, (16, 1024), True]", got)
			}
		})
	}
}
