package session

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/internal/units"
	"github.com/rain-wasm/rain/wasm"
)

// nodesTable is a snapshot of the cluster's nodes.
func (s *Session) nodesTable() *display.Table {
	nodes := s.client.Nodes()
	t := &display.Table{
		Title:   fmt.Sprintf("%d node%s", len(nodes), plural(len(nodes))),
		Headers: []string{"node", "host", "os/arch", "cores", "engine", "RTT", "busy", "done", "modules", "data", "restarts"},
		Right:   map[int]bool{3: true, 5: true, 6: true, 7: true, 9: true, 10: true},
	}
	for _, n := range nodes {
		var names, states []string
		for _, sha := range n.Modules {
			if m, ok := s.modules[sha]; ok {
				names = append(names, m.name)
				if mt, ok := n.Tiers[sha]; ok {
					states = append(states, tierCell(mt))
				} else {
					states = append(states, "–") // not said yet
				}
			}
		}
		t.Rows = append(t.Rows, []string{
			n.ID, n.Host, n.OS + "/" + n.Arch, fmt.Sprint(n.Cores), n.Engine,
			n.RTT.Round(time.Microsecond).String(), fmt.Sprint(n.Busy), fmt.Sprint(n.Done),
			modulesCell(names, states, len(n.Modules)), dataCell(n), fmt.Sprint(n.Restarts),
		})
	}
	if len(nodes) == 0 {
		t.Note = "no node has joined yet"
	}
	if others := s.client.OtherBuilds(); others != "" {
		t.Note = strings.TrimPrefix(t.Note+"; ", "; ") + others
	}
	return t
}

// tableValue shows a display.Table as a cell's value.
type tableValue struct {
	kind string
	t    *display.Table
}

var _ display.Shower = tableValue{}

func (v tableValue) String() string             { return v.t.Plain() }
func (v tableValue) Type() string               { return v.kind }
func (v tableValue) Freeze()                    {}
func (v tableValue) Truth() starlark.Bool       { return len(v.t.Rows) > 0 }
func (v tableValue) Hash() (uint32, error)      { return 0, fmt.Errorf("unhashable: %s", v.kind) }
func (v tableValue) Show() display.Bundle       { return v.t.Bundle() }
func (v tableValue) Terminal(color bool) string { return v.t.Terminal(color) }

func (s *Session) magicNodes(thread *starlark.Thread, args string) (starlark.Value, error) {
	if args != "" {
		return nil, usageError("%%nodes takes no arguments")
	}
	s.refreshNodes(thread)
	return tableValue{"nodes", s.nodesTable()}, nil
}

// refreshNodes has the nodes say how they are now (the data they keep, say), waiting a
// quarter of a second at most.
func (s *Session) refreshNodes(thread *starlark.Thread) {
	ctx, cancel := context.WithTimeout(threadContext(thread), 250*time.Millisecond)
	defer cancel()
	s.client.Refresh(ctx)
}

func (s *Session) builtinNodes(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := unpackPositional(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	s.refreshNodes(thread)
	return tableValue{"nodes", s.nodesTable()}, nil
}

// modulesCell names a node's modules, n of them, with the tier each runs on there (states[i]
// for names[i]): "stats: compiled (cache)", "stats, mandel: compiled" when
// they all run on the same one, a count when there are many, or some this session did not load.
func modulesCell(names, states []string, n int) string {
	if n == 0 {
		return "–"
	}
	same := ""
	if len(states) > 0 && len(slices.Compact(slices.Clone(states))) == 1 {
		same = states[0]
	}
	cell := fmt.Sprintf("%d modules", n)
	switch {
	case len(names) == n && n <= 3 && same != "":
		cell = strings.Join(names, ", ")
	case len(names) == n && n <= 3:
		parts := make([]string, n)
		for i, name := range names {
			parts[i] = name + ": " + states[i]
		}
		return strings.Join(parts, ", ")
	case len(names) < n:
		same = "" // the others' tiers are not known here
	}
	if same != "" {
		cell += ": " + same
	}
	return cell
}

// dataCell is the bytes of data a node keeps (see scatter), for all sessions, and its limit,
// and whether they reach it through the hub rather than over its data link.
func dataCell(n cluster.NodeInfo) string {
	cell := "–"
	if n.DataParts > 0 {
		cell = units.Bytes(uint64(n.Data))
		if n.DataLimit > 0 {
			cell += " of " + units.Bytes(uint64(n.DataLimit))
		}
		cell += fmt.Sprintf(" · %d part%s", n.DataParts, plural(n.DataParts))
	}
	switch {
	case n.DataLink:
	case n.DataParts > 0:
		cell += " · via the hub"
	default:
		cell = "via the hub"
	}
	return cell
}

// tierCell says which tier a module runs on on a node: "compiling", "compiled (cache)",
// "compiled in 812ms", "interpreter".
func tierCell(mt wasm.ModuleTier) string {
	switch {
	case mt.State == wasm.StateCompiled && mt.CacheHit:
		return "compiled (cache)"
	case mt.State == wasm.StateCompiled && mt.Compiled > mt.Ready:
		return "compiled in " + mt.Compiled.Round(time.Millisecond).String()
	case mt.State == wasm.StateInterpreter && mt.Err != nil:
		return "interpreter (compiler failed)"
	}
	return mt.State
}
