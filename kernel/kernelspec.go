package kernel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// InstallOptions says where Install writes the kernelspec and what Jupyter runs. At most one
// of User, SysPrefix and Prefix may be set; none means User.
type InstallOptions struct {
	// User installs for the current user, in the Jupyter data directory: $JUPYTER_DATA_DIR,
	// else ~/.local/share/jupyter ($XDG_DATA_HOME/jupyter) on Linux, ~/Library/Jupyter on
	// macOS, %APPDATA%\jupyter on Windows.
	User bool
	// SysPrefix installs into the Python environment Jupyter runs from
	// (sys.prefix/share/jupyter): $VIRTUAL_ENV, else $CONDA_PREFIX, else the environment of
	// the jupyter command on PATH.
	SysPrefix bool
	// Prefix installs into Prefix/share/jupyter, as `pip install --prefix` would.
	Prefix string

	// Name is the kernelspec's name (its directory), default "rain".
	Name string
	// DisplayName is what front ends list, default "Rain".
	DisplayName string
	// Argv is the command Jupyter starts the kernel with, default this executable followed
	// by "kernel", "-f", "{connection_file}".
	Argv []string
	// Env is added to the kernel's environment.
	Env map[string]string
}

var (
	// ErrInstallConflict is returned by Install when more than one destination is given.
	ErrInstallConflict = errors.New("kernel: choose one of --user, --sys-prefix and --prefix")
	// ErrNoSysPrefix is returned by Install when no Python environment is found for SysPrefix.
	ErrNoSysPrefix = errors.New("kernel: cannot find the Python environment for --sys-prefix (activate it, or use --prefix)")
)

// kernelJSON is a kernelspec's kernel.json.
type kernelJSON struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode"`
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata"`
}

// Install writes the kernelspec — kernel.json, logo-32x32.png, logo-64x64.png and
// logo-svg.svg — and returns its directory. An existing kernelspec of the same name is
// replaced.
func Install(o InstallOptions) (dir string, err error) {
	n := 0
	for _, set := range []bool{o.User, o.SysPrefix, o.Prefix != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return "", ErrInstallConflict
	}
	var data string
	switch {
	case o.Prefix != "":
		if data, err = filepath.Abs(filepath.Join(o.Prefix, "share", "jupyter")); err != nil {
			return "", err
		}
	case o.SysPrefix:
		prefix, err := sysPrefix()
		if err != nil {
			return "", err
		}
		data = filepath.Join(prefix, "share", "jupyter")
	default:
		if data, err = userDataDir(); err != nil {
			return "", err
		}
	}
	if o.Name == "" {
		o.Name = "rain"
	}
	if o.DisplayName == "" {
		o.DisplayName = "Rain"
	}
	if o.Argv == nil {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("kernel: cannot find this executable: %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		o.Argv = []string{exe, "kernel", "-f", "{connection_file}"}
	}
	spec, err := json.MarshalIndent(kernelJSON{
		Argv:          o.Argv,
		DisplayName:   o.DisplayName,
		Language:      "starlark",
		InterruptMode: "message",
		Env:           o.Env,
		Metadata:      map[string]any{"debugger": false},
	}, "", "  ")
	if err != nil {
		return "", err
	}
	dir = filepath.Join(data, "kernels", o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("kernel: %w", err)
	}
	files := map[string][]byte{
		"kernel.json":    append(spec, '\n'),
		"logo-svg.svg":   []byte(logoSVG),
		"logo-32x32.png": logoPNG(32),
		"logo-64x64.png": logoPNG(64),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", fmt.Errorf("kernel: %w", err)
		}
	}
	return dir, nil
}

// userDataDir is Jupyter's data directory for the user, as jupyter_core computes it.
func userDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Abs(d)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kernel: cannot find the home directory: %w", err)
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Jupyter"), nil
	case "windows":
		if a := os.Getenv("APPDATA"); a != "" {
			return filepath.Join(a, "jupyter"), nil
		}
		return filepath.Join(home, "AppData", "Roaming", "jupyter"), nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// sysPrefix is the prefix of the Python environment Jupyter runs from.
func sysPrefix() (string, error) {
	for _, v := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if d := os.Getenv(v); d != "" {
			return d, nil
		}
	}
	// The interpreter of the jupyter script on PATH, else python3, knows its sys.prefix.
	var pythons []string
	if j, err := exec.LookPath("jupyter"); err == nil {
		if f, err := os.Open(j); err == nil {
			line, _ := bufio.NewReader(f).ReadString('\n')
			f.Close()
			if py, ok := strings.CutPrefix(strings.TrimSpace(line), "#!"); ok && strings.Contains(py, "python") {
				pythons = append(pythons, strings.Fields(py)...)
			}
		}
	}
	pythons = append(pythons, "python3")
	for _, py := range pythons {
		if !strings.Contains(filepath.Base(py), "python") {
			continue
		}
		out, err := exec.Command(py, "-c", "import sys; print(sys.prefix)").Output()
		if p := strings.TrimSpace(string(out)); err == nil && p != "" {
			return p, nil
		}
	}
	return "", ErrNoSysPrefix
}

// logoSVG is Rain's logo: a raindrop.
const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <defs>
    <linearGradient id="rain" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#5ab0ff"/>
      <stop offset="1" stop-color="#1d4ed8"/>
    </linearGradient>
  </defs>
  <path d="M32 4 C32 4 12 28 12 40 A20 20 0 0 0 52 40 C52 28 32 4 32 4 Z" fill="url(#rain)"/>
  <path d="M22 40 A10 10 0 0 0 30 50" fill="none" stroke="#ffffff" stroke-opacity="0.7" stroke-width="3" stroke-linecap="round"/>
</svg>
`

// logoPNG draws the logo's raindrop at size×size, anti-aliased.
func logoPNG(size int) []byte {
	// The drop in the SVG's 64×64 space: a circle (32,40) r 20 below y=40, and above it the
	// cubic from the tip (32,4) through (12,28) to (12,40), mirrored.
	half := make([]float64, 41) // half-width at y = 0..40
	for i := 0; i <= 2000; i++ {
		t := float64(i) / 2000
		u := 1 - t
		x := u*u*u*32 + 3*u*u*t*32 + 3*u*t*t*12 + t*t*t*12
		y := u*u*u*4 + 3*u*u*t*4 + 3*u*t*t*28 + t*t*t*40
		if yi := int(math.Round(y)); yi >= 0 && yi <= 40 {
			half[yi] = max(half[yi], 32-x)
		}
	}
	inside := func(x, y float64) bool {
		if y >= 40 {
			return (x-32)*(x-32)+(y-40)*(y-40) <= 400
		}
		if y < 4 {
			return false
		}
		lo := int(y)
		f := y - float64(lo)
		w := half[lo]*(1-f) + half[min(lo+1, 40)]*f
		return math.Abs(x-32) <= w
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4 // samples per pixel side
	scale := 64 / float64(size)
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			hits := 0
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) * scale
					y := (float64(py) + (float64(sy)+0.5)/ss) * scale
					if inside(x, y) {
						hits++
					}
				}
			}
			if hits == 0 {
				continue
			}
			g := float64(py) / float64(size) // the SVG's vertical gradient
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(0x5a + (0x1d-0x5a)*g),
				G: uint8(0xb0 + (0x4e-0xb0)*g),
				B: uint8(0xff + (0xd8-0xff)*g),
				A: uint8(255 * hits / (ss * ss)),
			})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
