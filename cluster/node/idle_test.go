package node

import (
	"testing"
	"time"
)

// A node that only moved data trims once idle after it, as after a call: the Go runtime's
// free pages go back to the system then.
func TestIdleAfterData(t *testing.T) {
	trimmed := make(chan struct{}, 1)
	d := idler{afterTrim: func() { trimmed <- struct{}{} }}
	done := make(chan struct{})
	defer close(done)
	go d.run(done)
	<-trimmed // idle from the start
	d.used()
	select {
	case <-trimmed:
	case <-time.After(10 * idleAfter):
		t.Fatal("no trim after data moved")
	}
}
