package node

import (
	"fmt"
	"strconv"
)

// CPU is the one CPU a node and its workers run on, as mpirun binds a rank to a core. The zero
// value binds to none: the operating system places the node's threads.
//
// Binding matters where a machine's nodes are as many as its CPUs and another busy process
// shares them: Linux then may leave two nodes on one CPU and the other process alone on the
// other for a whole map, halving both nodes. Bound, the nodes each keep a CPU and the other
// process shares one of them, and a map's dynamic balancing gives the slower node less work.
type CPU struct {
	id    int
	bound bool
}

// BindCPU is the CPU numbered id, counting from 0 as Linux does.
func BindCPU(id int) CPU { return CPU{id: id, bound: true} }

// ID is the CPU's number, and whether there is one.
func (c CPU) ID() (int, bool) { return c.id, c.bound }

// String is the CPU's number, or "none".
func (c CPU) String() string {
	if !c.bound {
		return "none"
	}
	return strconv.Itoa(c.id)
}

// Set parses a CPU number or "none"; it makes CPU a flag value.
func (c *CPU) Set(s string) error {
	if s == "none" {
		*c = CPU{}
		return nil
	}
	id, err := strconv.Atoi(s)
	if err != nil || id < 0 {
		return fmt.Errorf("cluster: node: CPU %q: give a CPU number from 0 (see nproc) or none", s)
	}
	*c = BindCPU(id)
	return nil
}
