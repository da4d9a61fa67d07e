package node

import (
	"testing"
	"time"
)

// A node that only moved data trims once idle after it, as after a call: the store's spare
// memory goes then.
func TestIdleAfterData(t *testing.T) {
	var d idler
	trimmed := make(chan struct{}, 1)
	done := make(chan struct{})
	defer close(done)
	go d.run(done, func() { trimmed <- struct{}{} })
	<-trimmed // idle from the start
	d.used()
	select {
	case <-trimmed:
	case <-time.After(10 * idleAfter):
		t.Fatal("no trim after data moved")
	}
}
