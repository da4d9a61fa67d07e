//go:build !linux

package node

import "errors"

// bind is Linux's only: elsewhere a bound node says so and runs unbound.
func bind(c CPU) error {
	if _, ok := c.ID(); !ok {
		return nil
	}
	return errors.New("cluster: node: binding to a CPU works on Linux only; running unbound")
}

// CPUs are the CPUs this process may run on: unknown outside Linux.
func CPUs() []int { return nil }
