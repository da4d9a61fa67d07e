package session

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/display"
)

// arrayValue is an array as a cell's value: in Jupyter, its bundle (a picture's PNG); in a
// terminal, its text and preview and, for a picture, the path of a PNG file of it, written
// where a chart's SVG goes (under os.TempDir()/rain-charts, named by its content).
type arrayValue struct{ *array.Array }

var (
	_ display.Shower     = arrayValue{}
	_ display.Terminaler = arrayValue{}
)

// Show is the array's bundle.
func (v arrayValue) Show() display.Bundle { return display.Array(v.Array) }

// Terminal is the array's terminal form, and its picture's file.
func (v arrayValue) Terminal(color bool) string {
	text := display.ArrayTerminal(v.Array, color)
	p := display.ArrayPNG(v.Array)
	if p == nil {
		return text
	}
	dir := chartDir()
	path := filepath.Join(dir, display.ImageFileName(p))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return text + "\n(the image could not be saved: " + err.Error() + ")"
	}
	if err := os.WriteFile(path, p, 0o644); err != nil {
		return text + "\n(the image could not be saved: " + err.Error() + ")"
	}
	return text + "\nimage: " + path
}

// cellValue is a cell's value as the front ends show it: an array gains its picture's file.
func cellValue(v starlark.Value) starlark.Value {
	if a, ok := v.(*array.Array); ok {
		return arrayValue{a}
	}
	return v
}

// cellPath is a path named in a cell, relative to the session's directory.
func (s *Session) cellPath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(s.opts.workDir, path)
}

// readCellFile reads a file named in a cell for a builtin, refusing one larger than an array
// can hold before reading it.
func (s *Session) readCellFile(fn, path string) ([]byte, error) {
	full := s.cellPath(path)
	info, err := os.Stat(full)
	switch {
	case os.IsNotExist(err):
		return nil, usageError("%s: no such file: %s", fn, full)
	case err != nil:
		return nil, usageError("%s: cannot read %s: %v", fn, full, err)
	case info.IsDir():
		return nil, usageError("%s: %s is a directory: give a file", fn, full)
	case info.Size() > array.MaxBytes:
		return nil, usageError("%s: %s is %d bytes, more than an array holds (%d GiB)", fn, full, info.Size(), array.MaxBytes>>30)
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, usageError("%s: cannot read %s: %v", fn, full, err)
	}
	return data, nil
}

// fileError is an array's error about a file, as one line naming the builtin and the file.
func fileError(fn, path string, err error) error {
	var ae *array.Error
	if errors.As(err, &ae) {
		return usageError("%s: %s: %s", fn, path, ae.Msg)
	}
	return usageError("%s: %s: %v", fn, path, err)
}

// builtinReadArray is read_array(path, dtype, shape=None): a file's bytes as raw
// little-endian elements.
func (s *Session) builtinReadArray(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var dtype, shapeV starlark.Value = nil, starlark.None
	if err := unpackArgs(b.Name(), args, kwargs, "path", &path, "dtype", &dtype, "shape?", &shapeV); err != nil {
		return nil, err
	}
	dt, err := array.DTypeOf(dtype, 0)
	if err != nil {
		return nil, err
	}
	var shape []int
	if shapeV != starlark.None {
		if shape, err = array.ShapeOf(shapeV); err != nil {
			return nil, err
		}
	}
	data, err := s.readCellFile(b.Name(), path)
	if err != nil {
		return nil, err
	}
	a, err := array.FromBytes(dt, data, shape...)
	if err != nil {
		return nil, fileError(b.Name(), path, err)
	}
	return a, nil
}

// builtinReadImage is read_image(path): a PNG or PGM as a u8 array, H×W grey or H×W×3 colour.
func (s *Session) builtinReadImage(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := unpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	data, err := s.readCellFile(b.Name(), path)
	if err != nil {
		return nil, err
	}
	a, err := array.DecodeImage(data)
	if err != nil {
		return nil, fileError(b.Name(), path, err)
	}
	return a, nil
}

// builtinWriteImage is write_image(a, path): a PNG (.png) or PGM (.pgm). A u8 array is
// written as it is (grey, or colour if H×W×3); any other 2-D array, to a PNG, through the
// colour map its display uses.
func (s *Session) builtinWriteImage(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a *array.Array
	var path string
	if err := unpackArgs(b.Name(), args, kwargs, "a", &a, "path", &path); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ext == ".pgm":
		err = a.EncodePGM(&buf)
	case ext != ".png":
		return nil, usageError("%s: %s: name a .png or .pgm file, the formats it writes", b.Name(), path)
	case a.IsImage():
		err = a.EncodePNG(&buf)
	default:
		img, ok := display.ArrayImage(a)
		if !ok {
			return nil, usageError("%s: %s: an image is a 2-D array, or H×W×3 u8, not %s %s", b.Name(), path, a.DType(), a.ShapeString())
		}
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, fileError(b.Name(), path, err)
	}
	if err := os.WriteFile(s.cellPath(path), buf.Bytes(), 0o644); err != nil {
		return nil, usageError("%s: cannot write %s: %v", b.Name(), s.cellPath(path), errors.Unwrap(err))
	}
	return starlark.None, nil
}

// describeArray is help on an array.
func describeArray(a *array.Array) string {
	var attrs, methods []string
	for _, name := range a.AttrNames() {
		if v, _ := a.Attr(name); v != nil {
			if _, ok := v.(*starlark.Builtin); ok {
				methods = append(methods, name+"()")
				continue
			}
		}
		attrs = append(attrs, name)
	}
	return fmt.Sprintf("%s\n    an array of %s, shape %s, %d bytes\n    attributes: %s\n    methods: %s",
		a, a.DType(), a.ShapeString(), a.NBytes(), strings.Join(attrs, ", "), strings.Join(methods, ", "))
}
