package session

import (
	"errors"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster"
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

func TestDataCell(t *testing.T) {
	for _, tt := range []struct {
		n    cluster.NodeInfo
		want string
	}{
		{cluster.NodeInfo{DataLink: true}, "–"},
		{cluster.NodeInfo{}, "via the hub"},
		{cluster.NodeInfo{Data: 400 << 10, DataParts: 1, DataLimit: 1 << 30, DataLink: true}, "400 KiB of 1 GiB · 1 part"},
		{cluster.NodeInfo{Data: 3 << 20, DataParts: 2}, "3 MiB · 2 parts · via the hub"},
	} {
		if got := dataCell(tt.n); got != tt.want {
			t.Errorf("dataCell(%+v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestModulesCell(t *testing.T) {
	for _, tt := range []struct {
		names, states []string
		n             int
		want          string
	}{
		{nil, nil, 0, "–"},
		{[]string{"stats"}, []string{"compiled (cache)"}, 1, "stats: compiled (cache)"},
		{[]string{"stats", "mandel"}, []string{"compiled", "compiled"}, 2, "stats, mandel: compiled"},
		{[]string{"stats", "mandel"}, []string{"compiled", "compiling"}, 2, "stats: compiled, mandel: compiling"},
		{[]string{"stats", "mandel"}, []string{"–", "compiling"}, 2, "stats: –, mandel: compiling"},
		{[]string{"a", "b", "c", "d"}, []string{"compiled", "compiled", "compiled", "compiled"}, 4, "4 modules: compiled"},
		{[]string{"stats"}, []string{"compiled"}, 3, "3 modules"}, // two of another session
	} {
		if got := modulesCell(tt.names, tt.states, tt.n); got != tt.want {
			t.Errorf("modulesCell(%v, %v, %d) = %q, want %q", tt.names, tt.states, tt.n, got, tt.want)
		}
	}
}
