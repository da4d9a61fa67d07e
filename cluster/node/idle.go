package node

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// idleAfter is how long a node process waits, once it has nothing to do, before it returns its
// memory: the garbage collector's free pages to the OS and the binary's pages to the page cache
// (trimImage). The first call after that maps again the code it runs (a few hundred µs, once).
const idleAfter = 500 * time.Millisecond

// idler trims a node process's memory once it has been idle for idleAfter, and counts the
// time the process spends with work (a dashboard shows a node's busy share from it).
type idler struct {
	busy    atomic.Int32
	last    atomic.Int64 // UnixNano of the last end of work
	trimmed atomic.Bool
	since   atomic.Int64 // UnixNano when the work under way began
	total   atomic.Int64 // ns spent with work, up to the last end of work
	// afterTrim, set by tests only, is called after each trim.
	afterTrim func()
}

func (d *idler) begin() {
	if d.busy.Add(1) == 1 {
		d.since.Store(time.Now().UnixNano())
	}
	d.trimmed.Store(false)
}

func (d *idler) end() {
	now := time.Now().UnixNano()
	d.last.Store(now)
	if d.busy.Add(-1) == 0 {
		d.total.Add(now - d.since.Load())
	}
}

// used notes work that does not count as busy time (data coming in, going out or dropped), so
// that the process trims once it has been idle for idleAfter after it too.
func (d *idler) used() {
	d.last.Store(time.Now().UnixNano())
	d.trimmed.Store(false)
}

// busyTime is the time spent with work so far, the work under way included.
func (d *idler) busyTime() time.Duration {
	t := d.total.Load()
	if d.busy.Load() > 0 {
		t += max(0, time.Now().UnixNano()-d.since.Load())
	}
	return time.Duration(t)
}

// run trims whenever the process has been idle for idleAfter (counted from now at first),
// until done closes.
func (d *idler) run(done <-chan struct{}) {
	trim := func() {
		debug.FreeOSMemory()
		trimImage()
		if d.afterTrim != nil {
			d.afterTrim()
		}
	}
	d.last.CompareAndSwap(0, time.Now().UnixNano())
	t := time.NewTicker(idleAfter / 2)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if d.trimmed.Load() || d.busy.Load() != 0 || time.Since(time.Unix(0, d.last.Load())) < idleAfter {
			continue
		}
		d.trimmed.Store(true)
		trim()
	}
}
