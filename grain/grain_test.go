package grain

import (
	"testing"
	"time"
)

func TestChunkFor(t *testing.T) {
	for _, tt := range []struct {
		cost, over time.Duration
		want       int
	}{
		{time.Microsecond, 100 * time.Microsecond, 900},
		{time.Millisecond, 100 * time.Microsecond, 1},
		{100 * time.Microsecond, 100 * time.Microsecond, 9},
		{0, 100 * time.Microsecond, 900000},
	} {
		if got := ChunkFor(tt.cost, tt.over, 0.9); got != tt.want {
			t.Errorf("ChunkFor(%v, %v) = %d, want %d", tt.cost, tt.over, got, tt.want)
		}
	}
	if got := runs([]int{1, 1, 1, 1, 900, 900, 450, 2}); got != "1×4, 900×2, 450, 2 (8 chunks)" {
		t.Errorf("runs = %q", got)
	}
}

func TestAmdahl(t *testing.T) {
	n := []float64{1, 2, 4, 8, 16}
	s := make([]float64, len(n))
	for i := range n {
		s[i] = 1 / (0.1 + 0.9/n[i])
	}
	if f := Amdahl(n, s); f < 0.0999 || f > 0.1001 {
		t.Errorf("serial fraction %v, want 0.1", f)
	}
	if f := Amdahl([]float64{1}, []float64{1}); f != 0 {
		t.Errorf("one run: %v", f)
	}
}

// What each call adds to a batch raises the chunk, and past a ninth of the cost no chunk
// reaches 90 %.
func TestChunkForBatch(t *testing.T) {
	for _, tt := range []struct {
		cost, over, per time.Duration
		want            int
		ok              bool
	}{
		{time.Microsecond, 100 * time.Microsecond, 0, 900, true},
		{10 * time.Microsecond, 100 * time.Microsecond, 100 * time.Nanosecond, 99, true},
		{time.Microsecond, 100 * time.Microsecond, 112 * time.Nanosecond, 0, false},
		{0, 100 * time.Microsecond, 0, 0, false},
	} {
		got, ok := ChunkForBatch(tt.cost, tt.over, tt.per, TargetEfficiency)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ChunkForBatch(%v, %v, %v) = %d, %v; want %d, %v", tt.cost, tt.over, tt.per, got, ok, tt.want, tt.ok)
		}
	}
}
