// Package units writes quantities for people: durations with three significant figures and
// the unit that suits them, as IPython's %time does.
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
