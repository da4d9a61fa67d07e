package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestInstall(t *testing.T) {
	prefix := t.TempDir()
	dir, err := Install(InstallOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(prefix, "share", "jupyter", "kernels", "rain"); dir != want {
		t.Errorf("dir %q, want %q", dir, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec kernelJSON
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	if len(spec.Argv) != 4 || spec.Argv[0] != exe || spec.Argv[1] != "kernel" || spec.Argv[3] != "{connection_file}" ||
		!filepath.IsAbs(spec.Argv[0]) {
		t.Errorf("argv %q", spec.Argv)
	}
	if spec.InterruptMode != "message" || spec.Language != "starlark" || spec.DisplayName != "Rain" {
		t.Errorf("kernel.json %s", b)
	}
	for name, size := range map[string]int{"logo-32x32.png": 32, "logo-64x64.png": 64} {
		f, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(f))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r := img.Bounds(); r.Dx() != size || r.Dy() != size {
			t.Errorf("%s is %v", name, r)
		}
		// Opaque in the drop's middle, transparent in the corner.
		if _, _, _, a := img.At(size/2, size*5/8).RGBA(); a != 0xffff {
			t.Errorf("%s: centre alpha %x", name, a)
		}
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("%s: corner alpha %x", name, a)
		}
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "logo-svg.svg")); err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("logo-svg.svg: %v", err)
	}

	// Installing again replaces it; custom argv and env are written.
	if _, err := Install(InstallOptions{Prefix: prefix, Argv: []string{"/x", "{connection_file}"}, Env: map[string]string{"A": "b"}}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "kernel.json"))
	json.Unmarshal(b, &spec)
	if spec.Argv[0] != "/x" || spec.Env["A"] != "b" {
		t.Errorf("kernel.json %s", b)
	}
}

func TestInstallDestinations(t *testing.T) {
	data := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", data)
	for _, o := range []InstallOptions{{}, {User: true}} {
		dir, err := Install(o)
		if err != nil || dir != filepath.Join(data, "kernels", "rain") {
			t.Errorf("Install(%+v) = %q, %v", o, dir, err)
		}
	}
	venv := t.TempDir()
	t.Setenv("VIRTUAL_ENV", venv)
	if dir, err := Install(InstallOptions{SysPrefix: true, Name: "rain-test"}); err != nil || dir != filepath.Join(venv, "share", "jupyter", "kernels", "rain-test") {
		t.Errorf("--sys-prefix: %q, %v", dir, err)
	}
	if _, err := Install(InstallOptions{User: true, Prefix: "/tmp"}); !errors.Is(err, ErrInstallConflict) {
		t.Errorf("--user --prefix: %v", err)
	}
}
