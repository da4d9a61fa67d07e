package node

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// bind runs every thread of this process on CPU c from now on. A thread inherits its
// creator's CPUs, and so does a process started from it: the threads the Go runtime starts
// later and the node's workers run on c too. Going twice over the threads catches one started
// while the first pass ran.
func bind(c CPU) error {
	id, ok := c.ID()
	if !ok {
		return nil
	}
	var set unix.CPUSet
	set.Set(id)
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("cluster: node: binding to CPU %d: %w", id, err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("cluster: node: binding to CPU %d: %w (this process may run on CPUs %v)", id, err, CPUs())
			}
		}
	}
	return nil
}

// CPUs are the CPUs this process may run on, in order.
func CPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	var ids []int
	for id := 0; len(ids) < set.Count(); id++ {
		if set.IsSet(id) {
			ids = append(ids, id)
		}
	}
	return ids
}
