package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/kernel/protocol"
	"github.com/rain-wasm/rain/session"
)

// fakeEngine stands in for a session: what a cell does depends on its code.
type fakeEngine struct {
	ready chan struct{} // closed: the engine has started
	mu    sync.Mutex
	execs []string
	later session.Output // the output of cell "later", which shows display d2
}

type fakePage string

func (p fakePage) String() string        { return string(p) }
func (p fakePage) Type() string          { return "page" }
func (p fakePage) Freeze()               {}
func (p fakePage) Truth() starlark.Bool  { return true }
func (p fakePage) Hash() (uint32, error) { return 0, nil }
func (p fakePage) Page() display.Bundle  { return display.Plain(string(p)) }

func (e *fakeEngine) Exec(ctx context.Context, code string, out session.Output) (starlark.Value, error) {
	e.mu.Lock()
	e.execs = append(e.execs, code)
	e.mu.Unlock()
	switch {
	case code == "1+2":
		return starlark.MakeInt(3), nil
	case code == "x":
		return starlark.String("ex"), nil
	case strings.HasPrefix(code, "print "):
		out.Stream("stdout", strings.TrimPrefix(code, "print ")+"\n")
		return nil, nil
	case code == "many":
		for i := 0; i < 1000; i++ {
			out.Stream("stdout", fmt.Sprintf("%d\n", i))
		}
		return nil, nil
	case code == "show":
		out.Display(display.Bundle{"text/plain": "p", "text/html": "<b>p</b>"}, "d1", false)
		out.Display(display.Plain("q"), "d1", true)
		out.Clear(true)
		return nil, nil
	case code == "later":
		out.Display(display.Plain("0"), "d2", false)
		e.mu.Lock()
		e.later = out
		e.mu.Unlock()
		return nil, nil
	case strings.HasPrefix(code, "update "):
		e.update(strings.TrimPrefix(code, "update "))
		return nil, nil
	case code == "spin":
		<-ctx.Done()
		return nil, &session.Error{Name: "KeyboardInterrupt", Value: "interrupted"}
	case code == "ask":
		v, err := out.Input("name? ", false)
		if err != nil {
			return nil, &session.Error{Name: "StdinError", Value: err.Error()}
		}
		return starlark.String("hi " + v), nil
	case code == "fail":
		return nil, &session.Error{Name: "Trap", Value: "unreachable", Traceback: []string{"Trap: unreachable", "  at f"}}
	case code == "%help":
		return fakePage("the help"), nil
	}
	return nil, nil
}

// update updates display d2 of cell "later", after that cell has returned.
func (e *fakeEngine) update(text string) {
	e.mu.Lock()
	out := e.later
	e.mu.Unlock()
	out.Display(display.Plain(text), "d2", true)
}

func (e *fakeEngine) Complete(code string, cursor int) ([]string, int, int) {
	// Complete the word before the cursor from a fixed list.
	start := cursor
	for start > 0 && code[start-1] != ' ' {
		start--
	}
	var m []string
	for _, w := range []string{"print", "primes", "π"} {
		if strings.HasPrefix(w, code[start:cursor]) {
			m = append(m, w)
		}
	}
	return m, start, cursor
}

func (e *fakeEngine) Inspect(code string, cursor, detail int) (display.Bundle, bool) {
	if strings.Contains(code, "print") {
		return display.Plain("print(*args)"), true
	}
	return nil, false
}

func (e *fakeEngine) IsComplete(code string) (string, string) {
	if strings.HasSuffix(code, ":") {
		return "incomplete", "    "
	}
	return "complete", ""
}

func (e *fakeEngine) Banner() string { return "fake banner" }
func (e *fakeEngine) Close() error   { return nil }

// freePorts returns n ports free on the loopback interface.
func freePorts(t testing.TB, n int) []int {
	var ports []int
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// testKernel is a kernel serving in-process, and a client connected to it.
type testKernel struct {
	t      testing.TB
	k      *kernel
	eng    *fakeEngine
	served chan error
	signer protocol.Signer
	sess   string

	shell, control, stdin, hb zmq4.Socket
	iopub                     zmq4.Socket
	dialIOPub                 func() // connects iopub and subscribes to everything
	iopubMsgs                 chan *protocol.Message
	shellMsgs                 chan *protocol.Message
	controlMsgs               chan *protocol.Message
	stdinMsgs                 chan *protocol.Message
}

func startKernel(t testing.TB, engineReady <-chan struct{}) *testKernel {
	t.Helper()
	eng := &fakeEngine{}
	tk := startKernelWith(t, func(ctx context.Context) (engine, error) {
		if engineReady != nil {
			<-engineReady
		}
		return eng, nil
	})
	tk.eng = eng
	return tk
}

// startKernelWith starts a kernel whose engine newEngine makes, with a client whose iopub
// subscription has reached it.
func startKernelWith(t testing.TB, newEngine func(context.Context) (engine, error)) *testKernel {
	t.Helper()
	tk := startKernelIOPubLater(t, newEngine)
	tk.dialIOPub()
	tk.waitIOPub()
	return tk
}

// startKernelIOPubLater starts a kernel whose engine newEngine makes, with a client connected
// to every socket but iopub (see dialIOPub).
func startKernelIOPubLater(t testing.TB, newEngine func(context.Context) (engine, error)) *testKernel {
	t.Helper()
	p := freePorts(t, 5)
	conn := protocol.Connection{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], IOPubPort: p[1],
		StdinPort: p[2], ControlPort: p[3], HBPort: p[4], Key: "test-key", SignatureScheme: "hmac-sha256"}
	var logBuf bytes.Buffer
	k, err := newKernel(conn, WithHistoryFile(""), WithLog(&lockedWriter{w: &logBuf}))
	if err != nil {
		t.Fatal(err)
	}
	tk := &testKernel{t: t, k: k, served: make(chan error, 1), signer: k.signer, sess: protocol.NewID(),
		iopubMsgs: make(chan *protocol.Message, 4096), shellMsgs: make(chan *protocol.Message, 64),
		controlMsgs: make(chan *protocol.Message, 64), stdinMsgs: make(chan *protocol.Message, 64)}
	go func() {
		tk.served <- k.serve(context.Background(), newEngine)
	}()
	// Wait for the sockets: serve listens before it starts anything else.
	id := zmq4.WithID(zmq4.SocketIdentity(tk.sess))
	dial := func(s zmq4.Socket, port int) {
		if err := s.Dial(fmt.Sprintf("tcp://127.0.0.1:%d", port)); err != nil {
			t.Fatal(err)
		}
	}
	opts := []zmq4.Option{id, zmq4.WithDialerRetry(20 * time.Millisecond), zmq4.WithTimeout(5 * time.Second)}
	tk.shell = zmq4.NewDealer(context.Background(), opts...)
	tk.control = zmq4.NewDealer(context.Background(), opts...)
	tk.stdin = zmq4.NewDealer(context.Background(), opts...)
	tk.hb = zmq4.NewReq(context.Background(), opts[1:]...)
	tk.iopub = zmq4.NewSub(context.Background(), opts[1:]...)
	dial(tk.shell, p[0])
	dial(tk.stdin, p[2])
	dial(tk.control, p[3])
	dial(tk.hb, p[4])
	tk.dialIOPub = func() {
		dial(tk.iopub, p[1])
		tk.iopub.SetOption(zmq4.OptionSubscribe, "")
		go tk.pump(tk.iopub, tk.iopubMsgs)
	}
	for s, ch := range map[zmq4.Socket]chan *protocol.Message{tk.shell: tk.shellMsgs,
		tk.control: tk.controlMsgs, tk.stdin: tk.stdinMsgs} {
		go tk.pump(s, ch)
	}
	t.Cleanup(func() {
		select {
		case <-k.quit:
		default:
			tk.request(tk.control, "shutdown_request", map[string]any{"restart": false})
		}
		select {
		case <-tk.served:
		case <-time.After(10 * time.Second):
			t.Error("kernel did not stop within 10 s of shutdown_request")
		}
		for _, s := range []zmq4.Socket{tk.shell, tk.control, tk.stdin, tk.hb, tk.iopub} {
			s.Close()
		}
		if t.Failed() {
			t.Logf("kernel log:\n%s", logBuf.String())
		}
	})
	return tk
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (tk *testKernel) pump(s zmq4.Socket, ch chan *protocol.Message) {
	for {
		zm, err := s.Recv()
		if err != nil {
			return
		}
		m, err := protocol.Decode(zm.Frames, tk.signer)
		if err != nil {
			tk.t.Errorf("client: kernel sent a bad message: %v", err)
			continue
		}
		ch <- m
	}
}

// waitIOPub sends kernel_info_requests until an iopub message arrives (the SUB's
// subscription has reached the kernel), as jupyter_client does. Then it sends one more and
// waits for its reply and its status idle: the kernel answers the shell in order, so
// everything the earlier requests caused has come before them, and the test starts with
// nothing pending.
func (tk *testKernel) waitIOPub() {
	deadline := time.Now().Add(10 * time.Second)
	for subscribed := false; !subscribed; {
		if time.Now().After(deadline) {
			tk.t.Fatal("no iopub message within 10 s")
		}
		tk.request(tk.shell, "kernel_info_request", map[string]any{})
		select {
		case <-tk.iopubMsgs:
			subscribed = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	last := tk.request(tk.shell, "kernel_info_request", map[string]any{})
	tk.iopubFor(last)
	tk.replyTo(tk.shellMsgs, last)
	tk.drain()
}

func (tk *testKernel) drain() {
	for _, ch := range []chan *protocol.Message{tk.iopubMsgs, tk.shellMsgs, tk.controlMsgs, tk.stdinMsgs} {
		for len(ch) > 0 {
			<-ch
		}
	}
}

// request sends a message and returns its msg_id.
func (tk *testKernel) request(s zmq4.Socket, msgType string, content any) string {
	return tk.requestSigned(s, msgType, content, tk.signer)
}

func (tk *testKernel) requestSigned(s zmq4.Socket, msgType string, content any, signer protocol.Signer) string {
	h := protocol.NewHeader(msgType, tk.sess)
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(content)
	frames := protocol.Encode(nil, hb, nil, nil, cb, nil, signer)
	if err := s.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		tk.t.Fatal(err)
	}
	return h.MsgID
}

func (tk *testKernel) next(ch chan *protocol.Message, what string) *protocol.Message {
	tk.t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		tk.t.Fatalf("no %s message within 10 s", what)
		return nil
	}
}

// replyTo waits for the reply to msgID on ch.
func (tk *testKernel) replyTo(ch chan *protocol.Message, msgID string) *protocol.Message {
	tk.t.Helper()
	for {
		m := tk.next(ch, "reply")
		if parentID(m) == msgID {
			return m
		}
	}
}

// iopubFor collects the iopub messages of request msgID up to its status idle.
func (tk *testKernel) iopubFor(msgID string) []*protocol.Message {
	tk.t.Helper()
	var out []*protocol.Message
	for {
		m := tk.next(tk.iopubMsgs, "iopub")
		if parentID(m) != msgID {
			continue
		}
		out = append(out, m)
		if m.Header.MsgType == "status" && content(m)["execution_state"] == "idle" {
			return out
		}
	}
}

func parentID(m *protocol.Message) string {
	var h protocol.Header
	json.Unmarshal(m.ParentHeader, &h)
	return h.MsgID
}

func content(m *protocol.Message) map[string]any {
	var c map[string]any
	json.Unmarshal(m.Content, &c)
	return c
}

func types(ms []*protocol.Message) string {
	var s []string
	for _, m := range ms {
		t := m.Header.MsgType
		if t == "status" {
			t += ":" + content(m)["execution_state"].(string)
		}
		s = append(s, t)
	}
	return strings.Join(s, " ")
}

func (tk *testKernel) execute(code string, extra map[string]any) (reply *protocol.Message, iopub []*protocol.Message) {
	tk.t.Helper()
	c := map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{},
		"allow_stdin": true, "stop_on_error": true}
	for k, v := range extra {
		c[k] = v
	}
	id := tk.request(tk.shell, "execute_request", c)
	reply = tk.replyTo(tk.shellMsgs, id)
	return reply, tk.iopubFor(id)
}

func TestKernelInfoBeforeSessionIsReady(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	tk := startKernel(t, hold) // startKernel itself needs kernel_info answered
	start := time.Now()
	id := tk.request(tk.shell, "kernel_info_request", map[string]any{})
	reply := tk.replyTo(tk.shellMsgs, id)
	t.Logf("kernel_info answered after %v", time.Since(start))
	c := content(reply)
	li := c["language_info"].(map[string]any)
	if c["protocol_version"] != "5.3" || li["file_extension"] != ".star" || li["pygments_lexer"] != "python" || c["status"] != "ok" {
		t.Errorf("kernel_info_reply %s", reply.Content)
	}
	if got := types(tk.iopubFor(id)); got != "status:busy status:idle" {
		t.Errorf("iopub around kernel_info: %s", got)
	}
	// On control too.
	id = tk.request(tk.control, "kernel_info_request", map[string]any{})
	tk.replyTo(tk.controlMsgs, id)
	if got := types(tk.iopubFor(id)); got != "status:busy status:idle" {
		t.Errorf("iopub around control kernel_info: %s", got)
	}
	// is_complete too, as "unknown": jupyter console waits a second for it, and then wants
	// a blank line after every cell.
	id = tk.request(tk.shell, "is_complete_request", map[string]any{"code": "1+2"})
	if c := content(tk.replyTo(tk.shellMsgs, id)); c["status"] != "unknown" {
		t.Errorf("is_complete_reply before the session is ready: %v", c)
	}
}

// A frontend whose iopub subscription reaches the kernel after its first request (jupyter
// console connects its sockets at once, and does not wait for iopub) still gets that request's
// status busy and idle: iopub holds its messages for a first subscriber.
func TestIOPubSubscribedLate(t *testing.T) {
	tk := startKernelIOPubLater(t, func(context.Context) (engine, error) { return &fakeEngine{}, nil })
	id := tk.request(tk.shell, "kernel_info_request", map[string]any{})
	tk.replyTo(tk.shellMsgs, id)
	tk.dialIOPub()
	if got := types(tk.iopubFor(id)); got != "status:busy status:idle" {
		t.Errorf("iopub of the request before the subscription: %s", got)
	}
}

func TestParentHeaderAsReceived(t *testing.T) {
	tk := startKernel(t, nil)
	// A header with a field the kernel does not know, and an unusual key order.
	h := []byte(`{"msg_type":"kernel_info_request","x_extra":[1,2],"msg_id":"abc","session":"s","username":"u","date":"2024-01-01T00:00:00.123456789Z","version":"5.3"}`)
	frames := protocol.Encode(nil, h, nil, nil, []byte("{}"), nil, tk.signer)
	tk.shell.Send(zmq4.NewMsgFrom(frames...))
	reply := tk.replyTo(tk.shellMsgs, "abc")
	if !bytes.Equal(reply.ParentHeader, h) {
		t.Errorf("parent header\n%s\nwant\n%s", reply.ParentHeader, h)
	}
	if reply.Header.Version != "5.3" || reply.Header.Session == "" || len(reply.Header.Date) != len("2006-01-02T15:04:05.000000Z") {
		t.Errorf("header %+v", reply.Header)
	}
}

func TestExecuteOrder(t *testing.T) {
	tk := startKernel(t, nil)
	reply, iopub := tk.execute("print hello", nil)
	if got, want := types(iopub), "status:busy execute_input stream status:idle"; got != want {
		t.Errorf("iopub: %s, want %s", got, want)
	}
	c := content(reply)
	if c["status"] != "ok" || c["execution_count"] != 1.0 {
		t.Errorf("reply %s", reply.Content)
	}
	if s := content(iopub[2]); s["name"] != "stdout" || s["text"] != "hello\n" {
		t.Errorf("stream %v", s)
	}

	reply, iopub = tk.execute("1+2", nil)
	if got, want := types(iopub), "status:busy execute_input execute_result status:idle"; got != want {
		t.Errorf("iopub: %s, want %s", got, want)
	}
	r := content(iopub[2])
	if d := r["data"].(map[string]any); r["execution_count"] != 2.0 || d["text/plain"] != "3" || d["application/json"] != nil {
		t.Errorf("execute_result %v", r)
	}
	if ei := content(iopub[1]); ei["code"] != "1+2" || ei["execution_count"] != 2.0 {
		t.Errorf("execute_input %v", ei)
	}
	if md := reply.Metadata; !bytes.Contains(md, []byte(`"started"`)) {
		t.Errorf("execute_reply metadata %s", md)
	}

	// store_history false leaves the count; silent sends nothing but status.
	reply, _ = tk.execute("1+2", map[string]any{"store_history": false})
	if content(reply)["execution_count"] != 2.0 {
		t.Errorf("store_history=false changed the count: %s", reply.Content)
	}
	reply, iopub = tk.execute("print quiet", map[string]any{"silent": true})
	if got := types(iopub); got != "status:busy status:idle" {
		t.Errorf("silent iopub: %s", got)
	}
	_, iopub = tk.execute("show", nil)
	if got, want := types(iopub), "status:busy execute_input display_data update_display_data clear_output status:idle"; got != want {
		t.Errorf("iopub: %s, want %s", got, want)
	}
	if d := content(iopub[2]); d["transient"].(map[string]any)["display_id"] != "d1" || d["data"].(map[string]any)["text/html"] != "<b>p</b>" {
		t.Errorf("display_data %v", d)
	}
}

// TestLateUpdate updates a display after its cell has returned, as a load in the background
// does: during another cell, the update goes as that cell's (clients such as nbclient follow
// only the running cell); between cells, it goes as its own cell's and again as the next one's.
func TestLateUpdate(t *testing.T) {
	tk := startKernel(t, nil)
	tk.execute("later", nil)
	update := func(iopub []*protocol.Message, want string) {
		t.Helper()
		for _, m := range iopub {
			c := content(m)
			if m.Header.MsgType == "update_display_data" && c["transient"].(map[string]any)["display_id"] == "d2" {
				if got := c["data"].(map[string]any)["text/plain"]; got != want {
					t.Errorf("update %q, want %q", got, want)
				}
				return
			}
		}
		t.Errorf("no update of d2 to %q among the cell's messages: %s", want, types(iopub))
	}
	_, iopub := tk.execute("update 1", nil)
	update(iopub, "1")
	tk.eng.update("2") // no cell runs
	tk.eng.update("3")
	_, iopub = tk.execute("1+2", nil)
	update(iopub, "3")
	_, iopub = tk.execute("1+2", nil)
	if got, want := types(iopub), "status:busy execute_input execute_result status:idle"; got != want {
		t.Errorf("an update sent again: %s, want %s", got, want)
	}
}

func TestExecuteError(t *testing.T) {
	tk := startKernel(t, nil)
	reply, iopub := tk.execute("fail", nil)
	if got, want := types(iopub), "status:busy execute_input error status:idle"; got != want {
		t.Errorf("iopub: %s, want %s", got, want)
	}
	c := content(reply)
	tb := c["traceback"].([]any)
	if c["status"] != "error" || c["ename"] != "Trap" || c["evalue"] != "unreachable" || len(tb) != 3 {
		t.Errorf("reply %s", reply.Content)
	}
	// Front ends show only the traceback: it ends with the error's name and message.
	if last := tb[len(tb)-1].(string); !strings.Contains(last, "Trap") || !strings.HasSuffix(last, ": unreachable") {
		t.Errorf("the traceback ends with %q, not the message", last)
	}
	if e := content(iopub[2]); e["ename"] != "Trap" {
		t.Errorf("error %v", e)
	}
}

func TestStopOnErrorAbortsQueued(t *testing.T) {
	tk := startKernel(t, nil)
	c := func(code string) map[string]any {
		return map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{},
			"allow_stdin": false, "stop_on_error": true}
	}
	// Queue a blocked cell (whose interruption aborts nothing), a failing one and two more
	// requests behind them.
	noStop := c("spin")
	noStop["stop_on_error"] = false
	spin := tk.request(tk.shell, "execute_request", noStop)
	fail := tk.request(tk.shell, "execute_request", c("fail"))
	after := tk.request(tk.shell, "execute_request", c("1+2"))
	info := tk.request(tk.shell, "kernel_info_request", map[string]any{})
	for deadline := time.Now().Add(5 * time.Second); len(tk.k.shellIn) < 3; {
		if time.Now().After(deadline) {
			t.Fatal("requests not queued behind the running cell")
		}
		runtime.Gosched()
	}
	tk.request(tk.control, "interrupt_request", map[string]any{})
	if r := tk.replyTo(tk.shellMsgs, spin); content(r)["ename"] != "KeyboardInterrupt" {
		t.Errorf("interrupted cell: %s", r.Content)
	}
	if r := tk.replyTo(tk.shellMsgs, fail); content(r)["status"] != "error" {
		t.Errorf("failed cell: %s", r.Content)
	}
	if r := tk.replyTo(tk.shellMsgs, after); content(r)["status"] != "aborted" {
		t.Errorf("cell after the failure: %s, want aborted", r.Content)
	}
	if r := tk.replyTo(tk.shellMsgs, info); content(r)["status"] != "ok" {
		t.Errorf("kernel_info after the failure: %s", r.Content)
	}
	if reply, _ := tk.execute("1+2", nil); content(reply)["status"] != "ok" {
		t.Errorf("next cell: %s", reply.Content)
	}
}

func TestInterruptKeepsKernel(t *testing.T) {
	tk := startKernel(t, nil)
	id := tk.request(tk.shell, "execute_request", map[string]any{"code": "spin", "silent": false})
	// Wait until the cell runs.
	for {
		m := tk.next(tk.iopubMsgs, "iopub")
		if m.Header.MsgType == "execute_input" {
			break
		}
	}
	start := time.Now()
	iid := tk.request(tk.control, "interrupt_request", map[string]any{})
	if r := tk.replyTo(tk.controlMsgs, iid); content(r)["status"] != "ok" {
		t.Errorf("interrupt_reply %s", r.Content)
	}
	r := tk.replyTo(tk.shellMsgs, id)
	t.Logf("cell stopped %v after the interrupt", time.Since(start))
	if content(r)["ename"] != "KeyboardInterrupt" {
		t.Errorf("reply %s", r.Content)
	}
	if reply, _ := tk.execute("1+2", nil); content(reply)["status"] != "ok" {
		t.Errorf("cell after interrupt: %s", reply.Content)
	}
}

func TestBadSignatureIgnored(t *testing.T) {
	tk := startKernel(t, nil)
	wrong, _ := protocol.NewSigner("hmac-sha256", "wrong-key")
	bad := tk.requestSigned(tk.shell, "kernel_info_request", map[string]any{}, wrong)
	good := tk.request(tk.shell, "kernel_info_request", map[string]any{})
	r := tk.replyTo(tk.shellMsgs, good)
	_ = r
	// The bad one got no reply (replies come in order, so it would have come first).
	select {
	case m := <-tk.shellMsgs:
		t.Errorf("unexpected %s to %s", m.Header.MsgType, parentID(m))
	default:
	}
	_ = bad
	// A replayed message (same signature) is refused too.
	h := protocol.NewHeader("kernel_info_request", tk.sess)
	hb, _ := json.Marshal(h)
	frames := protocol.Encode(nil, hb, nil, nil, []byte("{}"), nil, tk.signer)
	tk.shell.Send(zmq4.NewMsgFrom(frames...))
	tk.replyTo(tk.shellMsgs, h.MsgID)
	tk.shell.Send(zmq4.NewMsgFrom(frames...))
	probe := tk.request(tk.shell, "kernel_info_request", map[string]any{})
	if m := tk.next(tk.shellMsgs, "reply"); parentID(m) != probe {
		t.Errorf("replayed message answered")
	}
}

func TestStdin(t *testing.T) {
	tk := startKernel(t, nil)
	id := tk.request(tk.shell, "execute_request", map[string]any{"code": "ask", "allow_stdin": true})
	req := tk.next(tk.stdinMsgs, "input_request")
	if req.Header.MsgType != "input_request" || content(req)["prompt"] != "name? " || parentID(req) != id {
		t.Fatalf("got %s %s", req.Header.MsgType, req.Content)
	}
	h := protocol.NewHeader("input_reply", tk.sess)
	hb, _ := json.Marshal(h)
	frames := protocol.Encode(nil, hb, req.RawHeader, nil, []byte(`{"value":"rain"}`), nil, tk.signer)
	tk.stdin.Send(zmq4.NewMsgFrom(frames...))
	tk.replyTo(tk.shellMsgs, id)
	for _, m := range tk.iopubFor(id) {
		if m.Header.MsgType == "execute_result" && content(m)["data"].(map[string]any)["text/plain"] != `"hi rain"` {
			t.Errorf("result %s", m.Content)
		}
	}

	// allow_stdin false: no input_request, an error instead.
	reply, _ := tk.execute("ask", map[string]any{"allow_stdin": false})
	if content(reply)["ename"] != "StdinError" {
		t.Errorf("reply %s", reply.Content)
	}
	select {
	case m := <-tk.stdinMsgs:
		t.Errorf("sent %s with allow_stdin false", m.Header.MsgType)
	default:
	}
}

func TestCompleteInspectIsComplete(t *testing.T) {
	tk := startKernel(t, nil)
	// "π " is 3 bytes but 2 code points: cursor positions are in code points.
	id := tk.request(tk.shell, "complete_request", map[string]any{"code": "π pri", "cursor_pos": 5})
	c := content(tk.replyTo(tk.shellMsgs, id))
	if c["cursor_start"] != 2.0 || c["cursor_end"] != 5.0 || len(c["matches"].([]any)) != 2 || c["status"] != "ok" {
		t.Errorf("complete_reply %v", c)
	}
	id = tk.request(tk.shell, "inspect_request", map[string]any{"code": "print", "cursor_pos": 2, "detail_level": 0})
	c = content(tk.replyTo(tk.shellMsgs, id))
	if c["found"] != true || c["data"].(map[string]any)["text/plain"] != "print(*args)" {
		t.Errorf("inspect_reply %v", c)
	}
	id = tk.request(tk.shell, "inspect_request", map[string]any{"code": "zzz", "cursor_pos": 2, "detail_level": 0})
	if c = content(tk.replyTo(tk.shellMsgs, id)); c["found"] != false || c["status"] != "ok" {
		t.Errorf("inspect_reply %v", c)
	}
	id = tk.request(tk.shell, "is_complete_request", map[string]any{"code": "def f():"})
	if c = content(tk.replyTo(tk.shellMsgs, id)); c["status"] != "incomplete" || c["indent"] != "    " {
		t.Errorf("is_complete_reply %v", c)
	}
	id = tk.request(tk.shell, "is_complete_request", map[string]any{"code": "1"})
	if c = content(tk.replyTo(tk.shellMsgs, id)); c["status"] != "complete" || c["indent"] != nil {
		t.Errorf("is_complete_reply %v", c)
	}
}

func TestCommsAndUnknown(t *testing.T) {
	tk := startKernel(t, nil)
	id := tk.request(tk.shell, "comm_info_request", map[string]any{})
	if c := content(tk.replyTo(tk.shellMsgs, id)); c["status"] != "ok" || len(c["comms"].(map[string]any)) != 0 {
		t.Errorf("comm_info_reply %v", c)
	}
	id = tk.request(tk.shell, "comm_open", map[string]any{"comm_id": "c1", "target_name": "jupyter.widget", "data": map[string]any{}})
	if got := types(tk.iopubFor(id)); got != "status:busy comm_close status:idle" {
		t.Errorf("iopub for comm_open: %s", got)
	}
	id = tk.request(tk.shell, "connect_request", map[string]any{})
	if c := content(tk.replyTo(tk.shellMsgs, id)); c["status"] != "ok" || c["hb_port"] != float64(tk.k.conn.HBPort) {
		t.Errorf("connect_reply %v", c)
	}
	id = tk.request(tk.control, "debug_request", map[string]any{})
	r := tk.replyTo(tk.controlMsgs, id)
	if r.Header.MsgType != "debug_reply" || content(r)["status"] != "error" {
		t.Errorf("reply to debug_request: %s %s", r.Header.MsgType, r.Content)
	}
}

func TestPagerAndUserExpressions(t *testing.T) {
	tk := startKernel(t, nil)
	reply, iopub := tk.execute("%help", map[string]any{"user_expressions": map[string]any{"a": "x", "b": "fail"}})
	c := content(reply)
	p := c["payload"].([]any)
	if len(p) != 1 || p[0].(map[string]any)["source"] != "page" || p[0].(map[string]any)["data"].(map[string]any)["text/plain"] != "the help" {
		t.Errorf("payload %v", p)
	}
	if got := types(iopub); got != "status:busy execute_input status:idle" {
		t.Errorf("iopub %s", got)
	}
	ue := c["user_expressions"].(map[string]any)
	if a := ue["a"].(map[string]any); a["status"] != "ok" || a["data"].(map[string]any)["text/plain"] != `"ex"` {
		t.Errorf("user expression a: %v", a)
	}
	if b := ue["b"].(map[string]any); b["status"] != "error" || b["ename"] != "Trap" {
		t.Errorf("user expression b: %v", b)
	}
}

func TestStreamsMergeUnderLoad(t *testing.T) {
	tk := startKernel(t, nil)
	_, iopub := tk.execute("many", nil)
	var text strings.Builder
	n := 0
	for _, m := range iopub {
		if m.Header.MsgType == "stream" {
			text.WriteString(content(m)["text"].(string))
			n++
		}
	}
	var want strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	if text.String() != want.String() {
		t.Errorf("stream text out of order or lost (%d bytes, want %d)", text.Len(), want.Len())
	}
	t.Logf("1000 writes arrived in %d stream messages", n)
}

func TestHeartbeat(t *testing.T) {
	tk := startKernel(t, nil)
	if err := tk.hb.Send(zmq4.NewMsgString("ping")); err != nil {
		t.Fatal(err)
	}
	done := make(chan zmq4.Msg, 1)
	go func() { m, _ := tk.hb.Recv(); done <- m }()
	select {
	case m := <-done:
		if len(m.Frames) == 0 || string(m.Frames[len(m.Frames)-1]) != "ping" {
			t.Errorf("heartbeat echoed %q", m.Frames)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat echo")
	}
}

func TestShutdown(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprint("restart=", restart), func(t *testing.T) {
			tk := startKernel(t, nil)
			id := tk.request(tk.control, "shutdown_request", map[string]any{"restart": restart})
			r := tk.replyTo(tk.controlMsgs, id)
			if c := content(r); c["status"] != "ok" || c["restart"] != restart {
				t.Errorf("shutdown_reply %v", c)
			}
			select {
			case err := <-tk.served:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
				tk.served <- err // for Cleanup
			case <-time.After(5 * time.Second):
				t.Fatal("kernel still serving 5 s after shutdown_request")
			}
			if tk.k.restart != restart {
				t.Errorf("restart %v", tk.k.restart)
			}
		})
	}
}

// BenchmarkExecuteRoundTrip: execute_request sent until execute_reply and status idle are
// received, from a Go client, with a fake session: the kernel's own cost of a trivial cell.
func BenchmarkExecuteRoundTrip(b *testing.B) {
	tk := startKernel(b, nil)
	c := map[string]any{"code": "1+2", "silent": false, "store_history": true, "user_expressions": map[string]any{},
		"allow_stdin": false, "stop_on_error": true}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := tk.request(tk.shell, "execute_request", c)
		tk.replyTo(tk.shellMsgs, id)
		tk.iopubFor(id)
	}
}
