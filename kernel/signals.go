package kernel

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// handleSignals makes SIGINT interrupt the running cell and SIGTERM stop the kernel, until
// the returned function is called.
func (k *kernel) handleSignals() (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if s == os.Interrupt {
					k.interrupt()
				} else {
					k.log.Printf("%v: stopping", s)
					k.stop(false)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// parentPollInterval is how often the kernel checks that the process that started it lives.
const parentPollInterval = 500 * time.Millisecond

// watchParent stops the kernel when the process named by JPY_PARENT_PID (which
// jupyter_client sets) dies, so that a kernel whose notebook server was killed does not
// linger.
func watchParent(ctx context.Context, k *kernel) {
	pid, err := strconv.Atoi(os.Getenv("JPY_PARENT_PID"))
	if err != nil || pid <= 1 || !processAlive(pid) {
		return
	}
	go func() {
		t := time.NewTicker(parentPollInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if !processAlive(pid) {
					k.log.Printf("parent process %d is gone: stopping", pid)
					k.stop(false)
					return
				}
			case <-ctx.Done():
				return
			case <-k.quit:
				return
			}
		}
	}()
}
