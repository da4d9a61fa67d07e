package array

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
)

// IsImage reports whether the array is an image: 2-D u8 (grey) or H×W×3 u8 (RGB colour).
func (a *Array) IsImage() bool {
	return a.dtype == U8 && (len(a.shape) == 2 || (len(a.shape) == 3 && a.shape[2] == 3))
}

// Image is the array as a Go image: *image.Gray for a 2-D u8 array, an opaque *image.RGBA
// for H×W×3 u8. Any other array is an ErrImage.
func (a *Array) Image() (image.Image, error) {
	if !a.IsImage() {
		return nil, errorf(ErrImage, "an image is a u8 array, H×W (grey) or H×W×3 (colour), not %s %s: use astype(\"u8\") or reshape", a.dtype, a.ShapeString())
	}
	h, w := a.shape[0], a.shape[1]
	if h == 0 || w == 0 {
		return nil, errorf(ErrImage, "an image needs at least one pixel, and this array is %s", a.ShapeString())
	}
	if len(a.shape) == 2 {
		return &image.Gray{Pix: a.data, Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(img.Pix[4*i:4*i+3], a.data[3*i:3*i+3])
		img.Pix[4*i+3] = 0xff
	}
	return img, nil
}

// FromImage is an image as an array: H×W u8 for a grey image (16-bit grey keeps its high
// byte), H×W×3 u8 (RGB, alpha dropped) for any other.
func FromImage(img image.Image) *Array {
	r := img.Bounds()
	h, w := r.Dy(), r.Dx()
	switch img.ColorModel() {
	case color.GrayModel, color.Gray16Model:
		a, _ := Zeros(U8, h, w) // an image.Image's size is an int's
		for y := range h {
			for x := range w {
				a.data[y*w+x] = color.GrayModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.Gray).Y
			}
		}
		return a
	}
	a, _ := Zeros(U8, h, w, 3)
	for y := range h {
		for x := range w {
			c := color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
			copy(a.data[3*(y*w+x):], []byte{c.R, c.G, c.B})
		}
	}
	return a
}

// EncodePNG writes the array as a PNG: grey for 2-D u8, RGB for H×W×3 u8.
func (a *Array) EncodePNG(w io.Writer) error {
	img, err := a.Image()
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

// EncodePGM writes a 2-D u8 array as a binary PGM (P5).
func (a *Array) EncodePGM(w io.Writer) error {
	if a.dtype != U8 || len(a.shape) != 2 {
		return errorf(ErrImage, "a PGM holds a 2-D u8 array (grey), not %s %s: write a .png instead", a.dtype, a.ShapeString())
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "P5\n%d %d\n255\n", a.shape[1], a.shape[0])
	bw.Write(a.data)
	return bw.Flush()
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// DecodeImage reads a PNG or a PGM (binary P5 or text P2): a grey image is a 2-D u8 array,
// a colour one H×W×3 u8. PGM samples above 255 are scaled to 0…255. Anything else is an
// ErrImage that names the formats read.
func DecodeImage(data []byte) (*Array, error) {
	switch {
	case bytes.HasPrefix(data, pngMagic):
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, errorf(ErrImage, "a broken PNG: %v", err)
		}
		return FromImage(img), nil
	case bytes.HasPrefix(data, []byte("P5")), bytes.HasPrefix(data, []byte("P2")):
		return decodePGM(data)
	}
	if kind := sniff(data); kind != "" {
		return nil, errorf(ErrImage, "%s, not a PNG or PGM image (the formats read): convert it to PNG first", kind)
	}
	return nil, errorf(ErrImage, "not a PNG or PGM image (the formats read): convert it to PNG first")
}

// sniff names a file's format from its first bytes, as an error says it; "" if unknown.
func sniff(data []byte) string {
	for _, f := range []struct{ magic, name string }{
		{"\xff\xd8\xff", "a JPEG"}, {"GIF8", "a GIF"}, {"BM", "a BMP"}, {"RIFF", "a RIFF (WebP?)"},
		{"II*\x00", "a TIFF"}, {"MM\x00*", "a TIFF"}, {"P6", "a PPM (colour Netpbm)"},
		{"P3", "a PPM (colour Netpbm)"}, {"P4", "a PBM"}, {"P1", "a PBM"}, {"<", "a text (SVG or HTML?)"},
	} {
		if bytes.HasPrefix(data, []byte(f.magic)) {
			return f.name + " file"
		}
	}
	if len(data) == 0 {
		return "an empty file"
	}
	return ""
}

// decodePGM reads a Netpbm grey map.
func decodePGM(data []byte) (*Array, error) {
	p := &pnm{data: data, pos: 2}
	w, h, maxv := p.int(), p.int(), p.int()
	if p.err != nil {
		return nil, p.err
	}
	if maxv < 1 || maxv > 65535 {
		return nil, errorf(ErrImage, "a PGM's largest value must be 1 to 65535, not %d", maxv)
	}
	a, err := Zeros(U8, h, w)
	if err != nil {
		return nil, err
	}
	n := w * h
	scale := func(v int) byte {
		if maxv == 255 {
			return byte(v)
		}
		return byte((min(v, maxv)*255 + maxv/2) / maxv)
	}
	if data[1] == '2' {
		for i := range n {
			v := p.int()
			if p.err != nil {
				return nil, errorf(ErrImage, "the PGM ends after %d of its %d×%d values: it is truncated", i, w, h)
			}
			a.data[i] = scale(v)
		}
		return a, nil
	}
	p.pos++ // the one whitespace after the largest value
	bps := 1
	if maxv > 255 {
		bps = 2
	}
	px := data[min(p.pos, len(data)):]
	if len(px) < n*bps {
		return nil, errorf(ErrImage, "the PGM ends after %d of its %d×%d pixels: it is truncated", len(px)/bps, w, h)
	}
	for i := range n {
		v := int(px[i*bps])
		if bps == 2 {
			v = v<<8 | int(px[i*bps+1])
		}
		a.data[i] = scale(v)
	}
	return a, nil
}

// pnm reads the numbers of a Netpbm header (and of a P2 body): decimal, separated by
// whitespace, with # comments to the end of a line.
type pnm struct {
	data []byte
	pos  int
	err  error
}

func (p *pnm) int() int {
	if p.err != nil {
		return 0
	}
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '#' {
			for p.pos < len(p.data) && p.data[p.pos] != '\n' {
				p.pos++
			}
			continue
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f' {
			break
		}
		p.pos++
	}
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	v, err := strconv.Atoi(string(p.data[start:p.pos]))
	if err != nil || v > 1<<30 {
		p.err = errorf(ErrImage, "a broken PGM header: expected a number at byte %d", start)
		return 0
	}
	return v
}
