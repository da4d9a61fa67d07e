// The Mandelbrot set, one row at a time, as examples/mandelbrot.c computes it.
package main

import (
	"math/bits"
	"unsafe"
)

const width, height, maxIter = 1024, 1024, 256

// escape is the number of iterations before z = z² + c leaves the disc of radius 2, or maxiter.
//
//go:wasmexport escape
func escape(cr, ci float64, maxiter int32) int32 {
	zr, zi, i := 0.0, 0.0, int32(0)
	for i < maxiter && zr*zr+zi*zi <= 4 {
		zr, zi = zr*zr-zi*zi+cr, 2*zr*zi+ci
		i++
	}
	return i
}

// row is the sum of the escape counts of row y.
//
//go:wasmexport row
func row(y int32) int32 {
	ci := -1.5 + 3.0*float64(y)/height
	sum := int32(0)
	for x := 0; x < width; x++ {
		sum += escape(-2.0+3.0*float64(x)/width, ci, maxIter)
	}
	return sum
}

// shade is the grey level of a point that took i iterations.
func shade(i int32) byte {
	if i <= 0 || i >= maxIter {
		return 0
	}
	k := int32(bits.Len32(uint32(i))) - 1
	return byte(32*k + 32*(i-1<<k)>>k)
}

// row_pixels writes the grey levels of row y into out.
//
//go:wasmexport row_pixels
func rowPixels(y int32, out *[width]byte) {
	ci := -1.5 + 3.0*float64(y)/height
	for x := range out {
		out[x] = shade(escape(-2.0+3.0*float64(x)/width, ci, maxIter))
	}
}

// malloc and free: Rain copies arrays into memory they allocate.
var keep = map[unsafe.Pointer][]byte{}

//go:wasmexport malloc
func malloc(n uint32) unsafe.Pointer {
	b := make([]byte, n)
	p := unsafe.Pointer(unsafe.SliceData(b))
	keep[p] = b
	return p
}

//go:wasmexport free
func free(p unsafe.Pointer) { delete(keep, p) }
