package kernel

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/rain-wasm/rain/kernel/protocol"
	"github.com/rain-wasm/rain/session"
)

// queueShell hands a shell request to the shell goroutine.
func (k *kernel) queueShell(m *protocol.Message) {
	select {
	case k.shellIn <- m:
	case <-k.quit:
	}
}

// shellLoop runs shell requests one at a time, in order. After a failed execute_request
// with stop_on_error, the execute_requests already queued are aborted.
func (k *kernel) shellLoop() {
	defer close(k.shellEnd)
	for {
		select {
		case m := <-k.shellIn:
			if abort := k.handleShell(m); abort {
				k.abortQueued()
			}
		case <-k.quit:
			return
		}
	}
}

func (k *kernel) abortQueued() {
	for {
		select {
		case m := <-k.shellIn:
			if m.Header.MsgType == "execute_request" {
				k.busy(m, func() {
					k.reply(k.shellOut, m, "execute_reply", protocol.StatusOnly{Status: "aborted"},
						map[string]any{"status": "aborted", "dependencies_met": true, "engine": k.id})
				})
				continue
			}
			k.handleShell(m)
		default:
			return
		}
	}
}

// busy publishes status busy, runs fn, and publishes status idle, all with parent m.
func (k *kernel) busy(m *protocol.Message, fn func()) {
	k.publish(m, "status", protocol.Status{ExecutionState: "busy"})
	fn()
	k.publish(m, "status", protocol.Status{ExecutionState: "idle"})
}

// handleShell answers one shell request; it reports whether the queued execute_requests are
// to be aborted.
func (k *kernel) handleShell(m *protocol.Message) (abort bool) {
	k.busy(m, func() {
		switch m.Header.MsgType {
		case "execute_request":
			abort = k.execute(m)
		case "kernel_info_request":
			k.reply(k.shellOut, m, "kernel_info_reply", k.kernelInfo(), nil)
		case "complete_request":
			k.complete(m)
		case "inspect_request":
			k.inspect(m)
		case "is_complete_request":
			k.isComplete(m)
		case "history_request":
			k.history(m)
		case "comm_info_request":
			k.reply(k.shellOut, m, "comm_info_reply", protocol.CommInfoReply{Status: "ok", Comms: map[string]map[string]any{}}, nil)
		case "comm_open":
			// No comm targets: close the comm, as ipykernel does for an unknown target.
			var c protocol.CommOpen
			json.Unmarshal(m.Content, &c)
			k.log.Printf("comm_open for target %q: no such target", c.TargetName)
			k.publish(m, "comm_close", protocol.CommClose{CommID: c.CommID, Data: map[string]any{}})
		case "comm_msg", "comm_close":
			// No comm is ever open: nothing to do.
		case "shutdown_request":
			k.shutdown(k.shellOut, m)
		case "connect_request": // deprecated, still answered
			c := k.conn
			k.reply(k.shellOut, m, "connect_reply", map[string]any{"status": "ok", "shell_port": c.ShellPort,
				"iopub_port": c.IOPubPort, "stdin_port": c.StdinPort, "control_port": c.ControlPort, "hb_port": c.HBPort}, nil)
		default:
			k.unknown(k.shellOut, m)
		}
	})
	return abort
}

// handleControl answers a control request at once, on the control reader's goroutine, even
// while a cell runs.
func (k *kernel) handleControl(m *protocol.Message) {
	k.busy(m, func() {
		switch m.Header.MsgType {
		case "kernel_info_request":
			k.reply(k.controlOut, m, "kernel_info_reply", k.kernelInfo(), nil)
		case "interrupt_request":
			k.interrupt()
			k.reply(k.controlOut, m, "interrupt_reply", protocol.StatusOnly{Status: "ok"}, nil)
		case "shutdown_request":
			k.shutdown(k.controlOut, m)
		default:
			k.unknown(k.controlOut, m)
		}
	})
}

// unknown answers a request the kernel does not handle with an error reply, so that a
// client waiting for the reply does not wait forever; other messages are logged.
func (k *kernel) unknown(ch chan<- outgoing, m *protocol.Message) {
	t := m.Header.MsgType
	if !strings.HasSuffix(t, "_request") {
		k.log.Printf("ignored a %s", t)
		return
	}
	k.reply(ch, m, strings.TrimSuffix(t, "_request")+"_reply", map[string]any{
		"status": "error", "ename": "NotImplementedError",
		"evalue": "the Rain kernel does not handle " + t, "traceback": []string{},
	}, nil)
}

func (k *kernel) shutdown(ch chan<- outgoing, m *protocol.Message) {
	var req protocol.ShutdownRequest
	json.Unmarshal(m.Content, &req)
	reply := protocol.ShutdownReply{Status: "ok", Restart: req.Restart}
	k.reply(ch, m, "shutdown_reply", reply, nil)
	k.publish(m, "shutdown_reply", reply)
	k.stop(req.Restart)
}

// kernelInfo is the kernel_info_reply. It does not wait for the session.
func (k *kernel) kernelInfo() protocol.KernelInfoReply {
	banner := "Rain " + session.Version + " — WebAssembly on a cluster (the session is starting)"
	select {
	case <-k.engReady:
		if k.eng != nil {
			banner = k.eng.Banner()
		} else {
			banner = "Rain " + session.Version + " — the session failed to start: " + k.engErr.Error()
		}
	default:
	}
	return protocol.KernelInfoReply{
		Status:                "ok",
		ProtocolVersion:       protocol.Version,
		Implementation:        "rain",
		ImplementationVersion: session.Version,
		LanguageInfo: protocol.LanguageInfo{
			Name:              "starlark",
			Version:           starlarkVersion(),
			Mimetype:          "text/x-python",
			FileExtension:     ".star",
			PygmentsLexer:     "python",
			CodemirrorMode:    map[string]any{"name": "python", "version": 3},
			NbconvertExporter: "script",
		},
		Banner: banner,
		HelpLinks: []protocol.HelpLink{
			{Text: "Rain", URL: "https://github.com/rain-wasm/rain"},
			{Text: "Starlark language", URL: "https://github.com/bazelbuild/starlark/blob/master/spec.md"},
			{Text: "WebAssembly", URL: "https://webassembly.org/"},
		},
		Debugger: false,
	}
}

// starlarkVersion is the version of go.starlark.net built in.
func starlarkVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "go.starlark.net" {
				return d.Version
			}
		}
	}
	return ""
}

func (k *kernel) complete(m *protocol.Message) {
	var req protocol.CompleteRequest
	json.Unmarshal(m.Content, &req)
	reply := protocol.CompleteReply{Status: "ok", Matches: []string{}, CursorStart: req.CursorPos,
		CursorEnd: req.CursorPos, Metadata: map[string]any{}}
	if eng, err := k.engine(); err == nil {
		at := byteOffset(req.Code, req.CursorPos)
		matches, start, end := eng.Complete(req.Code, at)
		if matches != nil {
			reply.Matches = matches
		}
		reply.CursorStart = runeOffset(req.Code, start)
		reply.CursorEnd = runeOffset(req.Code, end)
	}
	k.reply(k.shellOut, m, "complete_reply", reply, nil)
}

func (k *kernel) inspect(m *protocol.Message) {
	var req protocol.InspectRequest
	json.Unmarshal(m.Content, &req)
	reply := protocol.InspectReply{Status: "ok", Data: map[string]any{}, Metadata: map[string]any{}}
	if eng, err := k.engine(); err == nil {
		if b, found := eng.Inspect(req.Code, byteOffset(req.Code, req.CursorPos), req.DetailLevel); found && len(b) > 0 {
			reply.Found, reply.Data = true, b
		}
	}
	k.reply(k.shellOut, m, "inspect_reply", reply, nil)
}

// isComplete answers at once: while the session starts it says "unknown" (a front end then
// runs the line as it is), since front ends give up on a kernel that is slow to answer —
// jupyter console after a second, and then waits for a blank line to end every cell.
func (k *kernel) isComplete(m *protocol.Message) {
	var req protocol.IsCompleteRequest
	json.Unmarshal(m.Content, &req)
	reply := protocol.IsCompleteReply{Status: "unknown"}
	if eng, err := k.engineNow(); err == nil {
		status, indent := eng.IsComplete(req.Code)
		reply.Status = status
		if status == "incomplete" {
			reply.Indent = &indent
		}
	}
	k.reply(k.shellOut, m, "is_complete_reply", reply, nil)
}

func (k *kernel) history(m *protocol.Message) {
	var req protocol.HistoryRequest
	json.Unmarshal(m.Content, &req)
	k.reply(k.shellOut, m, "history_reply", protocol.HistoryReply{Status: "ok", History: k.hist.query(req)}, nil)
}

// byteOffset converts a cursor in Unicode code points (the protocol's unit since 5.2) to a
// byte offset in s.
func byteOffset(s string, cursor int) int {
	if cursor <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == cursor {
			return i
		}
		n++
	}
	return len(s)
}

// runeOffset converts a byte offset in s to code points.
func runeOffset(s string, off int) int {
	off = min(max(off, 0), len(s))
	return utf8.RuneCountInString(s[:off])
}
