package units

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{1234 * time.Millisecond, "1.23 s"},
		{456 * time.Millisecond, "456 ms"},
		{7890 * time.Nanosecond, "7.89 µs"},
		{12, "12 ns"},
		{100 * time.Second, "100 s"},
	} {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
