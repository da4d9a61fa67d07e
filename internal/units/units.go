// Package units writes quantities for people: durations with three significant figures and
// the unit that suits them, as IPython's %time does, and sizes in binary units.
package units

import (
	"fmt"
	"time"
)

// Duration is d as "1.23 s", "456 ms", "7.89 µs" or "12 ns".
func Duration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.3g µs", s*1e6)
	}
	return fmt.Sprintf("%.3g ns", s*1e9)
}

// Bytes is n bytes in the largest binary unit it reaches, whole or with one decimal: "4 bytes",
// "1 KiB", "1023.9 KiB", "300 MiB", "1.5 GiB".
func Bytes(n uint64) string {
	for _, u := range []struct {
		size uint64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size {
			if n%u.size == 0 {
				return fmt.Sprintf("%d %s", n/u.size, u.name)
			}
			return fmt.Sprintf("%.1f %s", float64(n)/float64(u.size), u.name)
		}
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
