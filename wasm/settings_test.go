package wasm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTier(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Tier
		err  string // in the error; "" for none
	}{
		{"auto", TierAuto, ""},
		{"compiler", TierCompiler, ""},
		{"interpreter", TierInterpreter, ""},
		{"Interpreter", TierInterpreter, ""},
		{"", 0, `unknown tier "": use auto, compiler or interpreter`},
		{"jit", 0, `unknown tier "jit": use auto, compiler or interpreter`},
		{"engine", 0, `unknown tier "engine"`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTier(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("ParseTier(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTier(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if back, err := ParseTier(got.String()); back != got || err != nil {
				t.Errorf("ParseTier(%q) = %v, %v: String does not round-trip", got.String(), back, err)
			}
		})
	}
}

// A Tier travels as its name in JSON, and a bad name or number is refused.
func TestTierText(t *testing.T) {
	b, err := json.Marshal(map[string]Tier{"t": TierInterpreter})
	if err != nil || string(b) != `{"t":"interpreter"}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
	var got map[string]Tier
	if err := json.Unmarshal(b, &got); err != nil || got["t"] != TierInterpreter {
		t.Errorf("json.Unmarshal = %v, %v", got, err)
	}
	if err := json.Unmarshal([]byte(`{"t":"jit"}`), &got); err == nil {
		t.Error(`json.Unmarshal of tier "jit": no error`)
	}
	if _, err := json.Marshal(Tier(9)); err == nil {
		t.Error("json.Marshal(Tier(9)): no error")
	}
}

func TestTierEngine(t *testing.T) {
	compiler := EngineInterpreter
	if compilerSupported() {
		compiler = EngineCompiler
	}
	for tier, want := range map[Tier]string{TierAuto: compiler, TierCompiler: compiler, TierInterpreter: EngineInterpreter} {
		if got := tier.Engine(); got != want {
			t.Errorf("%v.Engine() = %q, want %q", tier, got, want)
		}
	}
}

func TestParseGrant(t *testing.T) {
	dir := t.TempDir()
	colon := filepath.Join(dir, "at 12:30")
	file := filepath.Join(dir, "file")
	for _, d := range []string{colon, filepath.Join(dir, "data")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, tt := range []struct {
		in   string
		want Grant
		err  string // in the error; "" for none
	}{
		{dir + ":/data", Grant{dir, "/data"}, ""},
		{dir, Grant{dir, dir}, ""},                                                  // seen at its own path
		{"data:/in", Grant{filepath.Join(dir, "data"), "/in"}, ""},                  // relative to the working directory
		{"data", Grant{filepath.Join(dir, "data"), filepath.Join(dir, "data")}, ""}, // the guest path is absolute too
		{colon + ":/in", Grant{colon, "/in"}, ""},                                   // split at the last colon
		{dir + ":/a:b", Grant{dir + ":/a", "b"}, "is not a directory"},              // so a guest has no colon
		{colon, Grant{}, "is not a directory"},                                      // a host with a colon needs its guest
		{"", Grant{}, "no host directory"},
		{":/data", Grant{}, "no host directory"},
		{dir + ":", Grant{}, "no guest path after the colon"},
		{file + ":/f", Grant{}, file + " is not a directory"},
		{filepath.Join(dir, "missing"), Grant{}, "is not a directory"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseGrant(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "use HOST:GUEST") {
					t.Errorf("ParseGrant(%q) = %v, %v; want an error with %q and what to write", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseGrant(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if back, err := ParseGrant(got.String()); back != got || err != nil {
				t.Errorf("ParseGrant(%q) = %+v, %v: String does not round-trip", got.String(), back, err)
			}
		})
	}
}
