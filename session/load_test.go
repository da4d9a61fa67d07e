package session

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A module loaded under a second name is the value decoded the first time: one copy of its
// bytes, which the inspector reads and %cluster connect ships to the new hub's nodes.
func TestLoadKeepsOneModule(t *testing.T) {
	s := online(t, 1)
	pmapRun(t, s, "%load primes.wasm as p\n%load primes.wasm as q")
	p, q := s.globals["p"].(*Module), s.globals["q"].(*Module)
	if p.mod == nil || p.mod != q.mod || p.info != q.info {
		t.Errorf("primes loaded twice: decoded modules %p and %p, descriptions %p and %p", p.mod, q.mod, p.info, q.info)
	}
	if got := pmapRun(t, s, "inspect(q.is_prime) != None"); got != "True" {
		t.Errorf("inspect(q.is_prime): %s", got)
	}

	// Another session's hub and node know basics and mandelbrot, not primes: connecting ships it.
	other := online(t, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := s.Exec(ctx, fmt.Sprintf("%%cluster connect %s %s", other.hub.URL(), other.hub.Token()), &recorder{}); err != nil {
		t.Fatal(err)
	}
	if got := pmapRun(t, s, "[p.is_prime(7), q.count_primes(10), basics.add(1, 2)]"); got != "[1, 4, 3]" {
		t.Errorf("calls after %%cluster connect: %s, want [1, 4, 3]", got)
	}
}
