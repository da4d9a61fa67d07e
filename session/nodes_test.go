package session

import (
	"errors"
	"testing"
	"time"

	"github.com/rain-wasm/rain/wasm"
)

func TestTierCell(t *testing.T) {
	for _, tt := range []struct {
		mt   wasm.ModuleTier
		want string
	}{
		{wasm.ModuleTier{State: wasm.StateCompiling}, "compiling"},
		{wasm.ModuleTier{State: wasm.StateCompiled, CacheHit: true, Ready: time.Millisecond, Compiled: time.Millisecond}, "compiled (cache)"},
		{wasm.ModuleTier{State: wasm.StateCompiled, Ready: 40 * time.Millisecond, Compiled: 812 * time.Millisecond}, "compiled in 812ms"},
		{wasm.ModuleTier{State: wasm.StateCompiled, Ready: 3 * time.Millisecond, Compiled: 3 * time.Millisecond}, "compiled"},
		{wasm.ModuleTier{State: wasm.StateInterpreter}, "interpreter"},
		{wasm.ModuleTier{State: wasm.StateInterpreter, Err: errors.New("x")}, "interpreter (compiler failed)"},
	} {
		if got := tierCell(tt.mt); got != tt.want {
			t.Errorf("tierCell(%+v) = %q, want %q", tt.mt, got, tt.want)
		}
	}
}
