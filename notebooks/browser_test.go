package notebooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/internal/jupytertest"
)

const chromium = "/usr/bin/chromium"

// TestBrowser opens notebook 1 in the classic Jupyter Notebook (Debian's python3-notebook)
// with Debian's headless Chromium, driven by playwright-core, runs all its cells, and checks
// the rendered page. It leaves screenshots (the page, and its chart alone) and the report of
// the page in artifacts(t).
func TestBrowser(t *testing.T) {
	const name = "01-hello-wasm.ipynb"
	py := jupytertest.Python(t, "notebook")
	if _, err := os.Stat(chromium); err != nil {
		jupytertest.Need(t, "no %s (run scripts/install-deps): %v", chromium, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		jupytertest.Need(t, "no node on PATH: %v", err)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		jupytertest.Need(t, "no npm on PATH: %v", err)
	}
	run(t, 2*time.Minute, nil, "browser/install")
	env := jupyterEnv(t)
	out := artifacts(t)

	// The server's root holds a copy of the notebook (the page autosaves, and must not write
	// to the repository) next to the examples it loads with ../examples.
	root := t.TempDir()
	examples, _ := filepath.Abs("../examples")
	os.Mkdir(filepath.Join(root, "notebooks"), 0o755)
	if err := os.Symlink(examples, filepath.Join(root, "examples")); err != nil {
		t.Fatal(err)
	}
	nb, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "notebooks", name), nb, 0o644)

	base, token := startNotebookServer(t, py, env, root)
	screenshot := filepath.Join(out, "01-hello-wasm.png")
	page := browse(t, node, base+"/notebooks/notebooks/"+name+"?token="+token, screenshot, "")

	cells := make([]cell, len(page.Cells))
	for i, c := range page.Cells {
		cells[i] = c.cell
	}
	checkCells(t, name, cells)

	// And the page shows them: tables as tables, the module assembled from WAT, the call graph
	// as a picture, the trap's Wasm stack, and no error anywhere else.
	rendered := func(prefix string) (text string, tables int, errs []string) {
		for _, c := range page.Cells {
			if c.Type == "code" && strings.HasPrefix(c.source()+"\n", prefix) {
				return c.Rendered.Text, c.Rendered.HTMLTables, c.Rendered.Errors
			}
		}
		t.Errorf("no cell starts with %q", prefix)
		return "", 0, nil
	}
	for _, prefix := range []string{"basics\n", "numbers\n", "%nodes"} {
		if _, tables, _ := rendered(prefix); tables != 1 {
			t.Errorf("cell %q: %d HTML tables on the page, want 1", prefix, tables)
		}
	}
	if text, _, _ := rendered("%%wat shapes"); !strings.Contains(text, "shapes: 2 exports") {
		t.Errorf("the %%%%wat cell shows %q", text)
	}
	if text, _, _ := rendered("basics.fib(20)"); !strings.Contains(text, "6765") {
		t.Errorf("basics.fib(20) shows %q", text)
	}
	// The call graph is a picture the browser shows as its SVG (its PNG is for exports), drawn
	// at a readable size; the functions' names on it are checked in its SVG by checkCells.
	for _, c := range page.Cells {
		if c.Type != "code" || !strings.HasPrefix(c.source(), "%inspect basics.trap_nested") {
			continue
		}
		if len(c.Rendered.Images) != 1 {
			t.Errorf("the %%inspect cell shows %d images on the page, want 1", len(c.Rendered.Images))
			break
		}
		im := c.Rendered.Images[0]
		if !strings.HasPrefix(im.Src, "data:image/svg+xml") || !im.Complete || im.Width < 100 || im.Height < 100 || !strings.Contains(im.Alt, "trap_nested") {
			t.Errorf("the call graph on the page: %s…, shown %v, %.0f×%.0f px, alt %q", im.Src, im.Complete, im.Width, im.Height, im.Alt)
		}
		t.Logf("call graph: %.0f×%.0f px; picture %s", im.Width, im.Height, strings.TrimSuffix(screenshot, ".png")+"-chart.png")
	}
	_, _, errs := rendered("basics.trap_nested()")
	if len(errs) != 1 || !strings.Contains(errs[0], "crash") || !strings.Contains(errs[0], "trap_nested") {
		t.Errorf("the trap cell shows errors %q, want one with the Wasm stack", errs)
	} else if !strings.Contains(errs[0], "divide by zero") {
		// The classic notebook (and JupyterLab) show only the traceback, not ename/evalue.
		t.Errorf("the trap's message is not on the page, only its stacks: %q", errs[0])
	}
	for _, c := range page.Cells {
		if len(c.Rendered.Errors) > 0 && !c.tagged("raises-exception") {
			t.Errorf("cell %q shows an error on the page: %q", c.source(), c.Rendered.Errors)
		}
	}

	// %load of a big module returns while the nodes compile it: the page's display of the load
	// keeps changing after the cell, until it says the nodes run compiled code.
	const late = "background-load.ipynb"
	nb, err = os.ReadFile(filepath.Join("testdata", late))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "notebooks", late), nb, 0o644)
	page = browse(t, node, base+"/notebooks/notebooks/"+late+"?token="+token, filepath.Join(out, "background-load.png"), "ready on 2 nodes after")
	if r := page.Cells[0].Rendered; !strings.Contains(r.Text, "go: ") || !strings.Contains(r.Text, ", compiled after ") || r.HTMLTables != 1 {
		t.Errorf("the load's display on the page, after the nodes compiled: %q with %d tables", r.Text, r.HTMLTables)
	}
}

// browserPage is run.mjs's report of a notebook it ran in the browser.
type browserPage struct {
	RanMs    int      `json:"ran_ms"`
	Problems []string `json:"problems"`
	Cells    []struct {
		cell
		Rendered struct {
			Text       string `json:"text"`
			HTMLTables int    `json:"html_tables"`
			Images     []struct {
				Src      string  `json:"src"` // the start of the source shown
				Width    float64 `json:"width"`
				Height   float64 `json:"height"`
				Alt      string  `json:"alt"`
				Complete bool    `json:"complete"` // loaded and decoded
			} `json:"images"`
			Errors []string `json:"errors"`
		} `json:"rendered"`
	} `json:"cells"`
}

// browse runs every cell of the notebook at url in headless Chromium (browser/run.mjs) and,
// if wait is not empty, waits for that text to show on the page after the kernel is idle; it
// saves a screenshot and returns the report of the page.
func browse(t *testing.T, node, url, screenshot, wait string) *browserPage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "browser/run.mjs", url, screenshot, t.TempDir())
	cmd.Env = append(os.Environ(), "RAIN_WAIT_TEXT="+wait)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node browser/run.mjs: %v\n%s", err, stderr.String())
	}
	os.WriteFile(strings.TrimSuffix(screenshot, ".png")+".json", stdout.Bytes(), 0o644)
	var page browserPage
	if err := json.Unmarshal(stdout.Bytes(), &page); err != nil {
		t.Fatalf("report of the page: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("browser: %v in all, cells ran in %d ms; screenshot %s", time.Since(start).Round(time.Millisecond), page.RanMs, screenshot)
	for _, p := range page.Problems {
		t.Logf("browser: %s", p)
	}
	return &page
}

// startNotebookServer starts the classic Jupyter Notebook on loopback with a random port and
// token, serving root, waits until it answers, and stops it (and its kernels) when the test ends.
func startNotebookServer(t *testing.T, py string, env []string, root string) (base, token string) {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	token = hex.EncodeToString(b)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{"-m", "notebook", "--no-browser", "--ip=127.0.0.1", fmt.Sprintf("--port=%d", port),
		"--port-retries=0", "--NotebookApp.token=" + token, "--NotebookApp.notebook_dir=" + root,
		"--NotebookApp.enable_mathjax=False", "--NotebookApp.open_browser=False"}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-root")
	}
	cmd := exec.Command(py, args...)
	cmd.Env = env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Shut down through the API so that the server stops its kernels too.
		req, _ := http.NewRequest("POST", base+"/api/shutdown?token="+token, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("notebook server log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(base + "/api/status?token=" + token)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, token
			}
		}
		select {
		case <-exited:
			t.Fatalf("the notebook server exited:\n%s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notebook server did not answer within 30 s:\n%s", log.String())
		}
	}
}
