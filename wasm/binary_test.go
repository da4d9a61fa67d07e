package wasm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// objdumpCode is a function's line in the code section of wasm-objdump -x:
// " - func[12] size=28 <fib>".
var objdumpCode = regexp.MustCompile(`^ - func\[(\d+)\] size=(\d+)(?: <(.*)>)?$`)

// TestDecodeMatchesObjdump checks the decoder's body extents and names against wabt's.
func TestDecodeMatchesObjdump(t *testing.T) {
	objdump, err := exec.LookPath("wasm-objdump")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wasm-objdump not found: CI must install wabt (scripts/install-deps)")
		}
		t.Skip("wasm-objdump not found: install wabt (scripts/install-deps) to compare the decoder with it")
	}
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			bin := example(t, name)
			m, err := Decode(bin)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(objdump, "-x", "-j", "Code", filepath.Join("..", "examples", name+".wasm")).Output()
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				sub := objdumpCode.FindStringSubmatch(sc.Text())
				if sub == nil {
					continue
				}
				seen++
				idx, _ := strconv.Atoi(sub[1])
				size, _ := strconv.Atoi(sub[2])
				if idx >= len(m.Funcs) {
					t.Fatalf("objdump has func[%d], the decoder %d functions", idx, len(m.Funcs))
				}
				f := m.Funcs[idx]
				if f.Imported() || f.Size != size {
					t.Errorf("func[%d] %s: size %d (imported %v), objdump says %d", idx, f.Name, f.Size, f.Imported(), size)
				}
				if f.Name != "" && f.Name != sub[3] {
					t.Errorf("func[%d]: name %q, objdump says %q", idx, f.Name, sub[3])
				}
				if body := bin[f.Offset : f.Offset+f.Size]; !bytes.HasSuffix(body, f.Code) {
					t.Errorf("func[%d]: Code is not the end of the body", idx)
				}
			}
			defined := 0
			for _, f := range m.Funcs {
				if !f.Imported() {
					defined++
				}
			}
			if seen == 0 || seen != defined {
				t.Errorf("objdump lists %d bodies, the decoder %d", seen, defined)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	m, err := Decode(command)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Funcs) != 4 || !m.Funcs[0].Imported() || m.Funcs[0].Import.Name != "proc_exit" || m.Funcs[1].Imported() {
		t.Errorf("functions: %+v", m.Funcs)
	}
	if f := m.Funcs[3]; f.Type != 2 || f.Size != 4 || !bytes.Equal(f.Code, []byte{0x41, 1, 0x0b}) || f.Locals != 0 {
		t.Errorf("func 3: %+v", f)
	}
	var names []string
	for _, s := range m.Sections {
		names = append(names, s.Name)
	}
	if got := fmtList(names); got != "type import function export code" {
		t.Errorf("sections: %s", got)
	}
	// The module keeps its binary, not a copy, and the binary's SHA-256.
	if sum := sha256.Sum256(command); m.SHA256 != hex.EncodeToString(sum[:]) || &m.Bytes()[0] != &command[0] || len(m.Bytes()) != len(command) {
		t.Errorf("SHA256 %s, Bytes %d bytes at %p; binary %d bytes at %p", m.SHA256, len(m.Bytes()), m.Bytes(), len(command), command)
	}
	// Locals are counted, and Code starts after them.
	withLocals := module(section(1, vec(funcType(nil, nil))), section(3, vec(uleb(0))),
		section(10, vec(cat(uleb(7), []byte{2, 3, i32, 2, i64, 0x01, 0x0b}))))
	m, err = Decode(withLocals)
	if err != nil {
		t.Fatal(err)
	}
	if f := m.Funcs[0]; f.Locals != 5 || !bytes.Equal(f.Code, []byte{0x01, 0x0b}) || f.Size != 7 {
		t.Errorf("locals: %+v", f)
	}
	if _, err := Decode([]byte("\x00asm")); !errors.Is(err, ErrInvalid) {
		t.Errorf("header only: %v", err)
	}
}

func fmtList(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	return b.String()
}

// FuzzDecode checks that the decoder never panics and that what it returns lies inside the
// binary. The seed corpus is under testdata/fuzz/FuzzDecode; the examples are added too.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"basics", "mandelbrot", "primes"} {
		f.Add(example(f, name))
	}
	f.Add(command)
	f.Add(reactor)
	f.Fuzz(func(t *testing.T, bin []byte) {
		m, err := Decode(bin)
		if err != nil {
			var de *DecodeError
			if !errors.Is(err, ErrNotWasm) && !errors.As(err, &de) {
				t.Fatalf("error of an unexpected type: %v", err)
			}
			return
		}
		for i, f := range m.Funcs {
			if f.Index != uint32(i) {
				t.Fatalf("func %d has index %d", i, f.Index)
			}
			if int(f.Type) >= len(m.Types) {
				t.Fatalf("func %d has type %d of %d", i, f.Type, len(m.Types))
			}
			if f.Imported() {
				continue
			}
			if f.Offset < 8 || f.Size < 1 || f.Offset+f.Size > len(bin) || len(f.Code) > f.Size {
				t.Fatalf("func %d body [%d, +%d) outside the %d-byte binary", i, f.Offset, f.Size, len(bin))
			}
		}
		for _, s := range m.Sections {
			if s.Offset+s.Size > len(bin) {
				t.Fatalf("section %s outside the binary", s.Name)
			}
		}
	})
}
