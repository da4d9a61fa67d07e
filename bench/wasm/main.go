// Command wasm compares Wasm compute speed on four C kernels (kernels.c): rain's compiler tier
// (package wasm with wasm.EngineCompiler, the code a node's worker runs calls on once compiled;
// timed in-process around Instance.Call, so no network), the same C built natively with
// clang -O2, the same kernels.wasm on Node.js (V8), and the kernels written by hand in Go. Each
// figure is the best of -reps runs; ratios are to native C. bench/wasm/run builds the inputs.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/wasm"
)

type kernel struct {
	name string
	arg  int
	goFn func(int) int64
	i64  bool // returns i64 (else i32)
}

var kernels = []kernel{
	{"mandel", 1024, mandel, false},
	{"nbody", 2_000_000, nbody, true},
	{"sieve", 16_000_000, sieve, false},
	{"fnv", 2000, fnv, true},
}

// langModules are mandel and nbody built from other languages (rust/, ts/, go/), run on rain's
// compiler tier beside the C build: what the language costs.
var langModules = []struct{ flag, language, column string }{
	{"rust", "Rust", "rain Rust"},
	{"ts", "TypeScript (AssemblyScript)", "rain TS"},
	{"go", "Go (wasip1)", "rain Go"},
}

// result is one runner's checksum and best time per kernel.
type result map[string]struct {
	sum  string
	best time.Duration
}

func main() {
	reps := flag.Int("reps", 5, "runs of each kernel; the best counts")
	module := flag.String("wasm", "bench/wasm/kernels.wasm", "the kernels built to Wasm")
	native := flag.String("native", "", "the kernels built natively (bench/wasm/run builds it)")
	nodeJS := flag.String("node", "node", "Node.js, to run -wasm on V8 (empty: skip)")
	langPaths := make([]*string, len(langModules))
	for i, l := range langModules {
		langPaths[i] = flag.String(l.flag, "", "mandel and nbody built from "+l.language+" (bench/wasm/run builds them; empty: skip)")
	}
	flag.Parse()
	bin, err := os.ReadFile(*module)
	if err != nil {
		log.Fatal(err)
	}
	runs := []string{}
	for _, k := range kernels {
		runs = append(runs, k.name+"="+strconv.Itoa(k.arg))
	}
	cols := []string{}
	res := map[string]result{}
	add := func(name string, r result, err error) {
		if err != nil {
			log.Printf("%s: %v", name, err)
			return
		}
		cols = append(cols, name)
		res[name] = r
	}
	if *native != "" {
		r, err := external(*native, strconv.Itoa(*reps))
		add("native C", r, err)
	}
	for _, v := range []struct {
		name string
		opts []wasm.Option
	}{
		{"rain compiler", []wasm.Option{wasm.WithTier(wasm.TierCompiler)}},
		{"rain stoppable", []wasm.Option{wasm.WithTier(wasm.TierCompiler), wasm.WithStoppable(true)}},
	} {
		r, err := rain(bin, *reps, v.opts)
		add(v.name, r, err)
	}
	for i, l := range langModules {
		if *langPaths[i] == "" {
			continue
		}
		b, err := os.ReadFile(*langPaths[i])
		if err != nil {
			log.Printf("%s: %v", l.column, err)
			continue
		}
		r, err := rain(b, *reps, []wasm.Option{wasm.WithTier(wasm.TierCompiler)}, "mandel", "nbody")
		add(l.column, r, err)
	}
	if *nodeJS != "" {
		r, err := external(*nodeJS, append([]string{"bench/wasm/run.mjs", *module, strconv.Itoa(*reps)}, runs...)...)
		add("Node.js V8", r, err)
	}
	add("Go", goRun(*reps), nil)

	base := res["native C"]
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(w, "kernel\t")
	for _, c := range cols {
		fmt.Fprintf(w, "%s\t", c)
	}
	fmt.Fprintln(w)
	ratios := map[string][]float64{}
	for _, k := range kernels {
		fmt.Fprintf(w, "%s\t", k.name)
		for _, c := range cols {
			r, ok := res[c][k.name]
			if !ok {
				fmt.Fprint(w, "–\t")
				continue
			}
			cell := fmt.Sprintf("%.1f ms", float64(r.best.Microseconds())/1000)
			if b, ok := base[k.name]; ok && b.best > 0 {
				x := float64(r.best) / float64(b.best)
				ratios[c] = append(ratios[c], x)
				cell += fmt.Sprintf(" %.2f×", x)
			}
			if ref := res[cols[0]][k.name].sum; r.sum != ref {
				cell += " (checksum " + r.sum + " ≠ " + ref + ")"
			}
			fmt.Fprintf(w, "%s\t", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "median vs native C\t")
	for _, c := range cols {
		rs := ratios[c]
		if len(rs) == 0 {
			fmt.Fprint(w, "–\t")
			continue
		}
		slices.Sort(rs)
		m := rs[len(rs)/2]
		if len(rs)%2 == 0 {
			m = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
		}
		fmt.Fprintf(w, "%.2f×\t", m)
	}
	fmt.Fprintln(w)
	w.Flush()
	fmt.Printf("best of %d runs each; rain = package wasm in-process (wazero %s compiler, its default\n"+
		"features: SIMD on, no other settings); stoppable = WithStoppable (close on context done)\n", *reps, wazeroVersion())
}

// rain times each kernel on a rain wasm.Runtime, or the kernels named.
func rain(bin []byte, reps int, opts []wasm.Option, names ...string) (result, error) {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, opts...)
	if err != nil {
		return nil, err
	}
	defer rt.Close(ctx)
	inst, err := rt.Load(ctx, bin, nil, nil)
	if err != nil {
		return nil, err
	}
	r := result{}
	for _, k := range kernels {
		if len(names) > 0 && !slices.Contains(names, k.name) {
			continue
		}
		arg := []uint64{api.EncodeI32(int32(k.arg))}
		if _, err := inst.Call(ctx, k.name, []uint64{api.EncodeI32(10)}, nil, nil); err != nil {
			return nil, err
		}
		best, sum := time.Duration(math.MaxInt64), ""
		for range reps {
			t0 := time.Now()
			v, err := inst.Call(ctx, k.name, arg, nil, nil)
			d := time.Since(t0)
			if err != nil {
				return nil, err
			}
			best = min(best, d)
			if k.i64 {
				sum = strconv.FormatInt(int64(v[0]), 10)
			} else {
				sum = strconv.FormatInt(int64(api.DecodeI32(v[0])), 10)
			}
		}
		r[k.name] = struct {
			sum  string
			best time.Duration
		}{sum, best}
	}
	return r, nil
}

// external runs a program that prints "name checksum seconds" lines.
func external(prog string, args ...string) (result, error) {
	cmd := exec.Command(prog, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	r := result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		s, _ := strconv.ParseFloat(f[2], 64)
		r[f[0]] = struct {
			sum  string
			best time.Duration
		}{f[1], time.Duration(s * 1e9)}
	}
	return r, nil
}

func goRun(reps int) result {
	r := result{}
	for _, k := range kernels {
		best, sum := time.Duration(math.MaxInt64), int64(0)
		for range reps {
			t0 := time.Now()
			sum = k.goFn(k.arg)
			best = min(best, time.Since(t0))
		}
		if !k.i64 {
			sum = int64(int32(sum))
		}
		r[k.name] = struct {
			sum  string
			best time.Duration
		}{strconv.FormatInt(sum, 10), best}
	}
	return r
}

func wazeroVersion() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
