package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/display"
)

// arraySession is an offline session whose relative paths are in a fresh directory.
func arraySession(t *testing.T) *Session {
	t.Helper()
	s := offline(t)
	s.opts.workDir = t.TempDir()
	return s
}

func TestArrayCells(t *testing.T) {
	tests := []struct {
		name, code, want string
	}{
		{"sum", `array([1, 2, 3], "u8").sum()`, "6"},
		{"shape", `zeros((2, 3)).shape`, "(2, 3)"},
		{"dtype default", `array([1, 2.5]).dtype`, `"f64"`},
		{"reshape", `array(range(6)).reshape(2, 3)[1].tolist()`, "[3, 4, 5]"},
		{"text", `array("Rain").tolist()`, "[82, 97, 105, 110]"},
		{"1-D shows its ends", `array(range(1000), "i32")`, "array i32 · 1000 values · min 0 · max 999 · mean 499.5\n0, 1, 2, 3, …, 996, 997, 998, 999\n▁"},
		{"small 2-D shows its values", `array([[1, 2], [3, 40]], "i32")`, "[[ 1,  2],\n [ 3, 40]]"},
		{"help on the builtin", `%help array`, "array(values, dtype=None)"},
		{"help on zeros", `zeros?`, "an array of zeros"},
		{"help on an array", `a = zeros((4, 5), "u8")` + "\n" + `help(a)`, "an array of u8, shape 4×5, 20 bytes\n    attributes: dtype, nbytes, ndim, shape, size\n    methods: astype(), copy(), max(), mean(), min(), reshape(), sum(), tobytes(), tolist()"},
		{"in a list", `[array([1], "u8"), zeros(2)]`, `[array([1], "u8"), array([0.0, 0.0], "f64")]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := arraySession(t)
			v, err := s.Exec(context.Background(), tt.code, &recorder{})
			if err != nil {
				t.Fatal(err)
			}
			if got := display.Of(v).Text(); !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestArrayErrors: every mistake is one line that says what was wrong and what to do.
func TestArrayErrors(t *testing.T) {
	tests := []struct {
		name, code, kind, value string
	}{
		{"unknown dtype", `zeros(4, "float")`, "UsageError", `unknown dtype "float": use one of u8, i32, i64, f32, f64`},
		{"ragged", `array([[1, 2, 3], [4, 5]])`, "UsageError", "row [1] has 2 values, row [0] has 3: every row needs the same length"},
		{"out of range", `array([256], "u8")`, "UsageError", "256 at [0] does not fit in u8 (0 to 255)"},
		{"reshape", `zeros(10).reshape(3, 3)`, "UsageError", "cannot reshape 10 values (10) to 3×3 (9 values)"},
		{"index", `zeros((2, 2))[2]`, "UsageError", "index 2 is out of range for dimension 0 of length 2"},
		{"not a file", `read_image("nothing.png")`, "UsageError", "read_image: no such file: "},
		{"not an image", `read_image("notes.txt")`, "UsageError", "read_image: notes.txt: not a PNG or PGM image (the formats read): convert it to PNG first"},
		{"a JPEG", `read_image("photo.jpg")`, "UsageError", "read_image: photo.jpg: a JPEG file, not a PNG or PGM image"},
		{"a directory", `read_array(".", "u8")`, "UsageError", "is a directory: give a file"},
		{"whole elements", `read_array("notes.txt", "f64")`, "UsageError", "read_array: notes.txt: 5 bytes is not a whole number of f64 values (8 bytes each): check the dtype"},
		{"read shape", `read_array("notes.txt", "u8", shape=(2, 2))`, "UsageError", "5 u8 values do not fill the shape 2×2"},
		{"read dtype", `read_array("notes.txt", "x")`, "UsageError", `unknown dtype "x"`},
		{"write format", `write_image(zeros((2, 2), "u8"), "out.jpg")`, "UsageError", "write_image: out.jpg: name a .png or .pgm file, the formats it writes"},
		{"write 1-D", `write_image(zeros(4), "out.png")`, "UsageError", "an image is a 2-D array, or H×W×3 u8, not f64 4"},
		{"write colour PGM", `write_image(zeros((2, 2, 3), "u8"), "out.pgm")`, "UsageError", "a PGM holds a 2-D u8 array (grey), not u8 2×2×3: write a .png instead"},
		{"write no array", `write_image([1], "out.png")`, "UsageError", "write_image: for parameter a: got list, want array"},
		{"write nowhere", `write_image(zeros((2, 2), "u8"), "no/such/dir/out.png")`, "UsageError", "write_image: cannot write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := arraySession(t)
			os.WriteFile(filepath.Join(s.opts.workDir, "notes.txt"), []byte("hello"), 0o644)
			os.WriteFile(filepath.Join(s.opts.workDir, "photo.jpg"), []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), 0o644)
			_, err := s.Exec(context.Background(), tt.code, &recorder{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %v", err)
			}
			if e.Name != tt.kind || !strings.Contains(e.Value, tt.value) || strings.Contains(e.Value, "\n") {
				t.Errorf("got %s: %q, want %s: …%s… on one line", e.Name, e.Value, tt.kind, tt.value)
			}
		})
	}
}

// TestImageFiles: what write_image writes, read_image reads back equal.
func TestImageFiles(t *testing.T) {
	s := arraySession(t)
	code := `
grey = array([[(x * y) % 256 for x in range(64)] for y in range(48)], "u8")
colour = array([[[x * 12, y * 25, 7] for x in range(20)] for y in range(10)], "u8")
write_image(grey, "grey.png")
write_image(grey, "grey.pgm")
write_image(colour, "colour.png")
write_image(grey[10:20], "rows.png")
numbers = array([[x - y / 3.0 for x in range(30)] for y in range(40)])
write_image(numbers, "numbers.png")
drawn = read_image("numbers.png")
[read_image("grey.png") == grey, read_image("grey.pgm") == grey, read_image("colour.png") == colour,
 read_image("rows.png") == grey[10:20], drawn.shape, drawn.dtype]`
	v, err := s.Exec(context.Background(), code, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != `[True, True, True, True, (40, 30, 3), "u8"]` {
		t.Errorf("read back: %s", got)
	}
}

func TestReadArray(t *testing.T) {
	s := arraySession(t)
	raw := make([]byte, 6*8)
	for i := range 6 {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(float64(i)/2))
	}
	os.WriteFile(filepath.Join(s.opts.workDir, "xs.f64"), raw, 0o644)
	v, err := s.Exec(context.Background(), `a = read_array("xs.f64", "f64")
b = read_array("xs.f64", "f64", shape=(2, 3))
c = read_array("xs.f64", "u8")
[a.tolist(), b[1].tolist(), len(c), a.tobytes() == c.tobytes()]`, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != "[[0.0, 0.5, 1.0, 1.5, 2.0, 2.5], [1.5, 2.0, 2.5], 48, True]" {
		t.Errorf("got %s", got)
	}
}

// TestArrayShown: a picture is a PNG in Jupyter; in a terminal, a preview and the path of
// its PNG file.
func TestArrayShown(t *testing.T) {
	s := arraySession(t)
	v, err := s.Exec(context.Background(), `array([[(x + y) % 256 for x in range(160)] for y in range(100)], "u8")`, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := display.Of(v)[display.PNGType].(string); !ok {
		t.Errorf("no image/png in %v", display.Of(v))
	}
	text := display.Terminal(v, false)
	lines := strings.Split(text, "\n")
	// The title, 100 rows at 80 columns (scale 2) as 25 lines of half blocks, the file.
	if len(lines) != 1+25+1 {
		t.Fatalf("%d lines, want 27:\n%s", len(lines), text)
	}
	path, ok := strings.CutPrefix(lines[len(lines)-1], "image: ")
	if !ok {
		t.Fatalf("last line %q, want the image's path", lines[len(lines)-1])
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 160 || r.Dy() != 100 {
		t.Errorf("the file's image is %d×%d, want the array's 160×100", r.Dx(), r.Dy())
	}
	// Only a picture has a file.
	v, _ = s.Exec(context.Background(), `zeros(5)`, &recorder{})
	if text := display.Terminal(v, false); strings.Contains(text, "image:") {
		t.Errorf("a 1-D array names a file: %s", text)
	}
}
