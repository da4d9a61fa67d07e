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

func TestBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 bytes", 1: "1 byte", 4: "4 bytes", 1024: "1 KiB", 1<<20 - 100: "1023.9 KiB",
		2 << 20: "2 MiB", 3 << 29: "1.5 GiB", 4 << 30: "4 GiB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
