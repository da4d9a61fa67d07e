package wasm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tier says which of wazero's engines run a runtime's modules. Like a browser, a runtime
// uses both by default: the interpreter, which is ready at once, then the optimizing compiler.
//
// It is a flag.Value and an encoding.TextMarshaler: Set and UnmarshalText parse what a user
// gives (see ParseTier), and String writes it back in that form.
type Tier uint8

const (
	// TierAuto runs a module on the interpreter at once and on compiled code as soon as the
	// compiler, working in the background, has made it. It is the zero Tier, the default.
	TierAuto Tier = iota
	// TierCompiler compiles every module with the compiler before its first call.
	TierCompiler
	// TierInterpreter runs every module on the interpreter alone.
	TierInterpreter
)

var tierNames = [...]string{TierAuto: "auto", TierCompiler: EngineCompiler, TierInterpreter: EngineInterpreter}

// ParseTier reads a tier by its name: "auto", "compiler" or "interpreter" (case ignored).
func ParseTier(s string) (Tier, error) {
	for t, name := range tierNames {
		if strings.EqualFold(s, name) {
			return Tier(t), nil
		}
	}
	return 0, fmt.Errorf("wasm: unknown tier %q: use auto, compiler or interpreter", s)
}

// String is the tier's name, which ParseTier reads back.
func (t Tier) String() string {
	if int(t) < len(tierNames) {
		return tierNames[t]
	}
	return fmt.Sprintf("Tier(%d)", uint8(t))
}

// Set parses s as ParseTier does: a Tier is a flag.Value.
func (t *Tier) Set(s string) error {
	v, err := ParseTier(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MarshalText writes the tier's name.
func (t Tier) MarshalText() ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return []byte(t.String()), nil
}

// UnmarshalText parses a tier's name as ParseTier does.
func (t *Tier) UnmarshalText(b []byte) error { return t.Set(string(b)) }

func (t Tier) check() error {
	if int(t) >= len(tierNames) {
		return fmt.Errorf("wasm: unknown tier %d", uint8(t))
	}
	return nil
}

// Engine is the engine that calls end up on with this tier: EngineCompiler, or
// EngineInterpreter for TierInterpreter and wherever wazero has no compiler for the platform.
func (t Tier) Engine() string {
	if t == TierInterpreter || !compilerSupported() {
		return EngineInterpreter
	}
	return EngineCompiler
}

// Grant lets WASI modules see the host directory Host at the path Guest. Without one a module
// sees no host files.
type Grant struct {
	Host  string // an absolute path on the host
	Guest string // where modules see it; it holds no colon
}

// ParseGrant reads a grant as a user writes it, "HOST:GUEST", or "HOST" for a directory seen at
// its own path. The string is split at its last colon, so that HOST may hold colons and GUEST,
// a path the user chooses, may not (a HOST with a colon in it then needs its GUEST written
// out). HOST is made absolute (relative to the working directory)
// and must be a directory; GUEST, when given, must not be empty.
func ParseGrant(s string) (Grant, error) {
	bad := func(why string) error {
		return fmt.Errorf("wasm: directory grant %q: %s; use HOST:GUEST, or HOST to see it at its own path", s, why)
	}
	host, guest, paired := s, "", false
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, guest, paired = s[:i], s[i+1:], true
	}
	switch {
	case host == "":
		return Grant{}, bad("no host directory")
	case paired && guest == "":
		return Grant{}, bad("no guest path after the colon")
	}
	abs, err := filepath.Abs(host)
	if err != nil {
		return Grant{}, bad(err.Error())
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return Grant{}, bad(abs + " is not a directory")
	}
	if !paired {
		guest = abs
	}
	return Grant{Host: abs, Guest: guest}, nil
}

// String is the grant as "HOST:GUEST", which ParseGrant reads back (HOST is absolute, so its
// directory is the same wherever it is read).
func (g Grant) String() string { return g.Host + ":" + g.Guest }
