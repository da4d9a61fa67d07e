package node

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// Settings are how a node runs modules and where it keeps them: what a user gives on `rain
// node`'s command line, and what a launcher passes on to the nodes it starts. Each is parsed
// once, by the flags RegisterFlags adds, into its typed value; Args writes them back as those
// flags, and Command as the whole command line of a node.
type Settings struct {
	// Tier says how the node's worker compiles modules (see wasm.Tier). The default is
	// wasm.TierAuto: the interpreter at once, compiled code when the compiler is done (or at
	// once when the node's cache has it compiled).
	Tier wasm.Tier
	// Grants are the host directories WASI modules on the node see. The default is none.
	Grants []wasm.Grant
	// MemoryLimit bounds the memory of each module instance on the node (see
	// wasm.MemoryLimit): a module that grows past it gets -1 from memory.grow, and its trap then
	// names the limit; a module whose memory starts over it does not load. 0 is no limit but
	// Wasm's own 4 GiB. DefaultSettings has DefaultMemoryLimit; the zero Settings have none.
	MemoryLimit wasm.MemoryLimit
	// CacheDir is where the node keeps modules and their compiled code; nodes on one machine
	// may share it. "" is rain/node under os.UserCacheDir (under os.TempDir if there is none).
	CacheDir string
	// ID names the node: one NATS subject token (no dots, spaces, * or >). "" is the host name
	// (dots turned to dashes) and six random hex digits. It stays the same across the worker's
	// restarts.
	ID string
	// CPU binds the node and its workers to one CPU (see CPU). The default binds to none;
	// launch.Local binds nodes that are as many as the machine's CPUs, one to each.
	CPU CPU
	// DataPort is the TCP port of the node's data link, through which clients send it data
	// and fetch it straight rather than through the hub (see DataPort). The default is any
	// free port.
	DataPort DataPort
}

// DefaultMemoryLimit is the memory limit of each module on a node that is given none: 1 GiB.
// Wasm's own bound, 4 GiB a module, would let the two local nodes a session starts by default
// take 8 GiB with one runaway module each, more than many laptops and shared machines have to
// spare; 1 GiB holds every example and arrays of 100 million f64. It is one figure rather than
// a share of the machine's memory so that a call does not succeed on one node and trap on
// another.
const DefaultMemoryLimit wasm.MemoryLimit = 1 << 30

// DefaultSettings are the settings of a node given none: every field's default, and
// DefaultMemoryLimit.
func DefaultSettings() Settings { return Settings{MemoryLimit: DefaultMemoryLimit} }

// check reports the first setting Run cannot use.
func (s Settings) check() error {
	if _, err := s.Tier.MarshalText(); err != nil { // a Tier with no name
		return fmt.Errorf("cluster: node: %w", err)
	}
	if s.ID != "" && !wire.ValidNodeID(s.ID) {
		return badID(s.ID)
	}
	if id, ok := s.CPU.ID(); ok {
		if cpus := CPUs(); cpus != nil && !slices.Contains(cpus, id) {
			return fmt.Errorf("cluster: node: CPU %d: this process may run on CPUs %v only", id, cpus)
		}
	}
	for _, g := range s.Grants {
		if st, err := os.Stat(g.Host); err != nil || !st.IsDir() {
			return fmt.Errorf("cluster: node: directory grant %s: %s is not a directory", g, g.Host)
		}
	}
	return nil
}

func badID(id string) error {
	return fmt.Errorf("cluster: node ID %q: use no dots, spaces, * or >", id)
}

// RegisterFlags adds to fs the flags of `rain node` that set s, with s's values as their
// defaults: those of RegisterModuleFlags, --cache-dir, --id and --cpu. Parsing them is the one
// parse of each setting; Args writes s back as them.
func (s *Settings) RegisterFlags(fs *flag.FlagSet) {
	s.RegisterModuleFlags(fs, "")
	fs.StringVar(&s.CacheDir, "cache-dir", s.CacheDir, "where modules and compiled code are kept (default: rain/node in the user's cache dir)")
	fs.Var(idFlag{&s.ID}, "id", "the node's `ID`, one NATS subject token (default: the host name and six random hex digits)")
	fs.Var(&s.CPU, "cpu", "run the node and its workers on this `CPU` only (a number from 0, or none; Linux)")
	fs.Var(&s.DataPort, "data-port", "the TCP `PORT` clients send data to and fetch it from, on the address this machine reaches the hub from: a number, any (a free port; the default), or off to move data through the hub")
}

// RegisterModuleFlags adds to fs the flags of the settings that say how modules run: --tier,
// --dir (repeatable) and --memory-limit. A session takes them too, for the nodes it starts;
// where (" on local nodes") says so in their help.
func (s *Settings) RegisterModuleFlags(fs *flag.FlagSet, where string) {
	fs.Var(&s.Tier, "tier", "how modules are compiled"+where+", a `TIER`: auto (the interpreter at once, compiled code when ready; the default), compiler or interpreter")
	fs.Var(grantsFlag{&s.Grants}, "dir", "let WASI modules"+where+" see a host directory: `HOST:GUEST`, or HOST to see it at its own path (repeatable; default: no host files)")
	fs.Var(&s.MemoryLimit, "memory-limit", "the most memory a module may take"+where+", a `SIZE` such as 512MiB, 2GiB or 1G (powers of 1024; a unit is required), or none for Wasm's own 4GiB; the default keeps two nodes with a runaway module each from filling a shared machine")
}

// Args are the flags of `rain node` that give s, each setting at its default (that of
// DefaultSettings) left out, so that a node command that knows fewer flags still runs with the
// settings it knows. RegisterFlags parses them back into s.
func (s Settings) Args() []string {
	var args []string
	if s.Tier != wasm.TierAuto {
		args = append(args, "--tier", s.Tier.String())
	}
	for _, g := range s.Grants {
		args = append(args, "--dir", g.String())
	}
	if s.MemoryLimit != DefaultMemoryLimit {
		args = append(args, "--memory-limit", s.MemoryLimit.String())
	}
	if s.CacheDir != "" {
		args = append(args, "--cache-dir", s.CacheDir)
	}
	if s.ID != "" {
		args = append(args, "--id", s.ID)
	}
	if _, ok := s.CPU.ID(); ok {
		args = append(args, "--cpu", s.CPU.String())
	}
	if s.DataPort != DataPortAny {
		args = append(args, "--data-port", s.DataPort.String())
	}
	return args
}

// Command is the command line of a node with settings s that joins the hub at url: `rain node`
// (rain is the path of the rain binary), s.Args() and --join url. The hub's token goes in the
// environment variable TokenEnv, where the process list does not show it.
func Command(rain, url string, s Settings) []string {
	return append(append([]string{rain, "node"}, s.Args()...), "--join", url)
}

// DataPort is the TCP port of a node's data link (see Settings.DataPort): a port number,
// DataPortAny or DataPortOff. A node that talks to the hub over TLS has no data link whatever
// its port, so that data is never sent in the clear.
type DataPort int

const (
	// DataPortAny is any free port: the zero value.
	DataPortAny DataPort = 0
	// DataPortOff is no data link: data moves through the hub.
	DataPortOff DataPort = -1
)

// String is the port's number, "any" or "off".
func (p DataPort) String() string {
	switch p {
	case DataPortAny:
		return "any"
	case DataPortOff:
		return "off"
	}
	return strconv.Itoa(int(p))
}

// Set parses a port number, "any" or "off"; it makes DataPort a flag value.
func (p *DataPort) Set(s string) error {
	switch s {
	case "any", "0":
		*p = DataPortAny
		return nil
	case "off":
		*p = DataPortOff
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("not a port: give a number from 1 to 65535, any or off")
	}
	*p = DataPort(n)
	return nil
}

// grantsFlag is --dir: each use parses one grant (see wasm.ParseGrant) and adds it.
type grantsFlag struct{ grants *[]wasm.Grant }

func (f grantsFlag) Set(v string) error {
	g, err := wasm.ParseGrant(v)
	if err != nil {
		return err
	}
	*f.grants = append(*f.grants, g)
	return nil
}

func (f grantsFlag) String() string {
	if f.grants == nil {
		return ""
	}
	s := make([]string, len(*f.grants))
	for i, g := range *f.grants {
		s[i] = g.String()
	}
	return strings.Join(s, " ")
}

// idFlag is --id: a node ID, checked where it is given.
type idFlag struct{ id *string }

func (f idFlag) Set(v string) error {
	if !wire.ValidNodeID(v) {
		return badID(v)
	}
	*f.id = v
	return nil
}

func (f idFlag) String() string {
	if f.id == nil {
		return ""
	}
	return *f.id
}
