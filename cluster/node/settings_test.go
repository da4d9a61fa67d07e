package node

import (
	"encoding/json"
	"flag"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/wasm"
)

// parseFlags parses args as `rain node` does, from DefaultSettings.
func parseFlags(args []string) (Settings, error) {
	s := DefaultSettings()
	fs := flag.NewFlagSet("rain node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s.RegisterFlags(fs)
	return s, fs.Parse(args)
}

// Flags parse into Settings, Args writes them back, and parsing those gives the same Settings:
// what a launcher passes is what the node gets.
func TestSettingsFlagsRoundTrip(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want Settings
		back []string // Args of the settings
	}{
		{"defaults", nil, DefaultSettings(), nil},
		{"tier", []string{"--tier", "interpreter"},
			Settings{Tier: wasm.TierInterpreter, MemoryLimit: DefaultMemoryLimit}, []string{"--tier", "interpreter"}},
		{"tier auto", []string{"--tier", "auto"}, DefaultSettings(), nil},
		{"grants", []string{"--dir", dir + ":/data", "--dir", other},
			Settings{Grants: []wasm.Grant{{Host: dir, Guest: "/data"}, {Host: other, Guest: other}}, MemoryLimit: DefaultMemoryLimit},
			[]string{"--dir", dir + ":/data", "--dir", other + ":" + other}},
		{"memory limit", []string{"--memory-limit", "512MiB"},
			Settings{MemoryLimit: 512 << 20}, []string{"--memory-limit", "512 MiB"}},
		{"no memory limit", []string{"--memory-limit", "none"}, Settings{}, []string{"--memory-limit", "none"}},
		{"cache dir and ID", []string{"--cache-dir", dir, "--id", "c1"},
			Settings{MemoryLimit: DefaultMemoryLimit, CacheDir: dir, ID: "c1"}, []string{"--cache-dir", dir, "--id", "c1"}},
		{"CPU", []string{"--cpu", "1"}, Settings{MemoryLimit: DefaultMemoryLimit, CPU: BindCPU(1)}, []string{"--cpu", "1"}},
		{"data port", []string{"--data-port", "7100"}, Settings{MemoryLimit: DefaultMemoryLimit, DataPort: 7100}, []string{"--data-port", "7100"}},
		{"data port off", []string{"--data-port", "off"}, Settings{MemoryLimit: DefaultMemoryLimit, DataPort: DataPortOff}, []string{"--data-port", "off"}},
		{"data port any", []string{"--data-port", "any"}, DefaultSettings(), nil},
		{"all", []string{"--tier", "compiler", "--dir", dir, "--memory-limit", "2GiB", "--cache-dir", other, "--id", "n-1"},
			Settings{Tier: wasm.TierCompiler, Grants: []wasm.Grant{{Host: dir, Guest: dir}}, MemoryLimit: 2 << 30, CacheDir: other, ID: "n-1"},
			[]string{"--tier", "compiler", "--dir", dir + ":" + dir, "--memory-limit", "2 GiB", "--cache-dir", other, "--id", "n-1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseFlags(tt.args)
			if err != nil || !reflect.DeepEqual(s, tt.want) {
				t.Fatalf("flags %q: %+v, %v; want %+v", tt.args, s, err, tt.want)
			}
			if got := s.Args(); !slices.Equal(got, tt.back) {
				t.Errorf("Args() = %q, want %q", got, tt.back)
			}
			again, err := parseFlags(s.Args())
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Errorf("flags %q parse to %+v, %v; want %+v", s.Args(), again, err, s)
			}
		})
	}
}

// A bad setting is one line that names the flag, the value, what is wrong and what to give.
func TestSettingsFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--tier", "jit"}, []string{`invalid value "jit" for flag -tier`, "use auto, compiler or interpreter"}},
		{[]string{"--dir", filepath.Join(dir, "missing")}, []string{"for flag -dir", "is not a directory", "use HOST:GUEST"}},
		{[]string{"--dir", dir + ":"}, []string{"for flag -dir", "no guest path after the colon"}},
		{[]string{"--memory-limit", "512"}, []string{`invalid value "512" for flag -memory-limit`, "no unit", "512MiB"}},
		{[]string{"--id", "a.b"}, []string{`invalid value "a.b" for flag -id`, "use no dots"}},
		{[]string{"--data-port", "70000"}, []string{`invalid value "70000" for flag -data-port`, "not a port: give a number from 1 to 65535, any or off"}},
		{[]string{"--data-port", "no"}, []string{`invalid value "no" for flag -data-port`, "not a port: give a number from 1 to 65535, any or off"}},
	} {
		_, err := parseFlags(tt.args)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("flags %q: %v; want one line", tt.args, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("flags %q: %v; want it to say %q", tt.args, err, w)
			}
		}
	}
}

func TestCommand(t *testing.T) {
	got := Command("/bin/rain", "nats://127.0.0.1:4222", Settings{Tier: wasm.TierInterpreter, MemoryLimit: DefaultMemoryLimit, CacheDir: "/c"})
	want := []string{"/bin/rain", "node", "--tier", "interpreter", "--cache-dir", "/c", "--join", "nats://127.0.0.1:4222"}
	if !slices.Equal(got, want) {
		t.Errorf("Command = %q, want %q", got, want)
	}
}

// A node given no settings has DefaultSettings, with the defaults of its ID and cache dir
// filled in; a node's status reports the engine its calls end up on.
func TestNodeSettingsOption(t *testing.T) {
	for _, tt := range []struct {
		opts   []Option
		limit  wasm.MemoryLimit
		engine string
	}{
		{nil, DefaultMemoryLimit, wasm.DefaultEngine()},
		{[]Option{WithSettings(Settings{})}, 0, wasm.DefaultEngine()},
		{[]Option{WithSettings(Settings{MemoryLimit: 256 << 20, Tier: wasm.TierInterpreter})}, 256 << 20, wasm.EngineInterpreter},
		{[]Option{WithSettings(Settings{Tier: wasm.TierCompiler})}, 0, wasm.DefaultEngine()},
	} {
		o, err := config(append([]Option{WithJoin("nats://x"), WithWorkerCommand("x")}, tt.opts...))
		if err != nil {
			t.Fatal(err)
		}
		if o.settings.MemoryLimit != tt.limit || o.settings.Tier.Engine() != tt.engine || o.settings.ID == "" || o.settings.CacheDir == "" {
			t.Errorf("settings %+v, engine %s; want memory limit %v, engine %s, an ID and a cache dir", o.settings, o.settings.Tier.Engine(), tt.limit, tt.engine)
		}
	}
	for _, s := range []Settings{{Tier: wasm.Tier(5)}, {ID: "a b"}, {Grants: []wasm.Grant{{Host: filepath.Join(t.TempDir(), "missing"), Guest: "/d"}}}} {
		if _, err := config([]Option{WithJoin("nats://x"), WithSettings(s)}); err == nil {
			t.Errorf("WithSettings(%+v): no error", s)
		}
	}
}

// The worker gets its node's settings, as they are, through JSON.
func TestWorkerSettingsJSON(t *testing.T) {
	s := Settings{Tier: wasm.TierCompiler, Grants: []wasm.Grant{{Host: "/h:1", Guest: "/g"}}, MemoryLimit: 64 << 10, CacheDir: "/c", ID: "n"}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got Settings
	if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("JSON %s reads back as %+v, %v; want %+v", b, got, err, s)
	}
}
