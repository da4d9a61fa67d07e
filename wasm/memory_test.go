package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	tests := []struct {
		in   string
		want MemoryLimit
		err  string // in the error; "" for none
	}{
		{"512MiB", 512 << 20, ""},
		{"2GiB", 2 << 30, ""},
		{"1G", 1 << 30, ""},
		{"1g", 1 << 30, ""},
		{"1GB", 1 << 30, ""},
		{"1Gi", 1 << 30, ""},
		{"256 MiB", 256 << 20, ""}, // as String writes it
		{"1.5GiB", 1536 << 20, ""},
		{"64KiB", 64 << 10, ""},
		{"100K", 64 << 10, ""}, // rounded down to whole pages
		{"65536B", 64 << 10, ""},
		{"4GiB", 4 << 30, ""},
		{"none", 0, ""},
		{"None", 0, ""},
		{"0", 0, ""},
		{"0MiB", 0, ""},
		{"4096", 0, "no unit"},
		{"", 0, "not a size"},
		{"lots", 0, "not a size"},
		{"12x", 0, "unknown unit"},
		{"-1GiB", 0, "not a size"},
		{"NaN", 0, "not a size"},
		{"1PiB", 0, "unknown unit"},
		{"5GiB", 0, "over 4GiB"},
		{"1T", 0, "over 4GiB"},
		{"1KiB", 0, "under one 64KiB page"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMemoryLimit(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "512MiB, 2GiB or 1G") {
					t.Fatalf("ParseMemoryLimit(%q) = %v, %v; want an error saying %q and the accepted forms", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMemoryLimit(%q) = %v (%d), %v; want %v", tt.in, got, uint64(got), err, tt.want)
			}
			// String reads back as the same limit.
			if back, err := ParseMemoryLimit(got.String()); err != nil || back != got {
				t.Errorf("ParseMemoryLimit(%q) = %v, %v", got.String(), back, err)
			}
		})
	}
}

func TestMemoryLimitString(t *testing.T) {
	for m, want := range map[MemoryLimit]string{
		0: "none", 256 << 20: "256 MiB", 1536 << 20: "1536 MiB", 4 << 30: "4 GiB", 64 << 10: "64 KiB",
	} {
		if got := m.String(); got != want {
			t.Errorf("MemoryLimit(%d).String() = %q, want %q", uint64(m), got, want)
		}
	}
}

// memoryRuntimes are the ways a limit must hold: on either engine alone, and across a tier
// switch (interpreter first, then compiled code, with the memory carried over).
func memoryRuntimes(t *testing.T) map[string][]Option {
	rts := map[string][]Option{}
	for _, e := range engines(t) {
		rts[e.String()] = []Option{WithTier(e)}
	}
	if compilerSupported() {
		rts["tier switch"] = []Option{WithTier(TierAuto), WithTierMinSize(0)}
	}
	return rts
}

func TestMemoryLimit(t *testing.T) {
	ctx := context.Background()
	const limit = 16 << 20 // 256 pages
	for name, opts := range memoryRuntimes(t) {
		t.Run(name, func(t *testing.T) {
			rt := newRuntime(t, append(opts, WithMemoryLimit(limit))...)
			if rt.MemoryLimit() != limit {
				t.Errorf("MemoryLimit() = %v", rt.MemoryLimit())
			}
			inst := load(t, rt, testdataModule(t, "grow.wasm"))
			// A trap far from the limit says nothing of it.
			_, err := inst.Call(ctx, "div", i32s(1, 0), nil, nil)
			if err == nil || errors.Is(err, ErrMemoryLimit) || strings.Contains(err.Error(), "memory limit") {
				t.Errorf("div(1, 0) with 1 page of 256: %v, want a trap that does not blame the limit", err)
			}
			if got, err := inst.Call(ctx, "grow", i32s(199), nil, nil); err != nil || got[0] != 200 {
				t.Fatalf("grow(199) = %v, %v; want 200 pages", got, err)
			}
			if name == "tier switch" {
				if err := inst.WaitCompiled(ctx); err != nil {
					t.Fatal(err)
				}
			}
			_, err = inst.Call(ctx, "grow", i32s(100), nil, nil)
			var trap *Trap
			if !errors.As(err, &trap) || trap.Reason != "unreachable" || !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("grow(100) past the limit: %v, want an unreachable trap matching ErrMemoryLimit", err)
			}
			if want := "wasm: trap in grow: unreachable (memory limit 16 MiB reached; see --memory-limit)"; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err, want)
			}
			if name == "tier switch" && inst.Tier() != EngineCompiler {
				t.Errorf("grow past the limit ran on %s, want the compiled tier", inst.Tier())
			}
			// The trap names its limit over the wire too.
			b, _ := json.Marshal(trap)
			var back Trap
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, trap) {
				t.Errorf("JSON round trip: %s → %#v (%v)", b, back, err)
			}
			// The instance goes on, its memory at the limit.
			if got, err := inst.Call(ctx, "pages", nil, nil, nil); err != nil || got[0] != 256 {
				t.Errorf("pages() after the trap = %v, %v; want 256", got, err)
			}
		})
	}
}

func TestNoMemoryLimit(t *testing.T) {
	inst := load(t, newRuntime(t), testdataModule(t, "grow.wasm"))
	if got, err := inst.Call(context.Background(), "grow", i32s(1000), nil, nil); err != nil || got[0] != 1001 {
		t.Errorf("grow(1000) without a limit = %v, %v; want 1001 pages", got, err)
	}
}

func TestMemoryLimitAtStart(t *testing.T) {
	// A module whose memory starts at 512 pages (32 MiB), with a limit of 16 MiB.
	bin := module(section(secMemory, vec(cat([]byte{0x00}, uleb(512)))))
	rt := newRuntime(t, WithMemoryLimit(16<<20))
	_, err := rt.Load(context.Background(), bin, nil, nil)
	var lim *MemoryLimitError
	if !errors.As(err, &lim) || !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("Load of a 32 MiB memory under a 16 MiB limit: %v, want a *MemoryLimitError", err)
	}
	if want := "wasm: the module's memory starts at 32 MiB, over the memory limit of 16 MiB (see --memory-limit)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	// Under the limit, it loads.
	if _, err := newRuntime(t, WithMemoryLimit(32<<20)).Load(context.Background(), bin, nil, nil); err != nil {
		t.Errorf("Load under a 32 MiB limit: %v", err)
	}
}

func TestWithMemoryLimit(t *testing.T) {
	for _, m := range []MemoryLimit{1, 5 << 30} {
		if _, err := NewRuntime(context.Background(), WithMemoryLimit(m)); err == nil || !strings.Contains(err.Error(), "wasm: memory limit") {
			t.Errorf("WithMemoryLimit(%d): %v, want an error", uint64(m), err)
		}
	}
	if rt := newRuntime(t, WithMemoryLimit(100<<10)); rt.MemoryLimit() != 64<<10 {
		t.Errorf("WithMemoryLimit(100 KiB) gives %v, want whole pages: 64 KiB", rt.MemoryLimit())
	}
}
