package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/kernel/protocol"
	"github.com/rain-wasm/rain/session"
)

// pager is a cell value that is help text for the front end's pager (IPython's `?`): it
// goes back as an execute_reply payload, not as an execute_result.
type pager interface {
	Page() display.Bundle
}

// execute runs an execute_request: execute_input, the cell's output, execute_result or
// error on iopub, then the execute_reply. It reports whether the queued execute_requests are
// to be aborted (the cell failed and stop_on_error is set).
func (k *kernel) execute(m *protocol.Message) (abort bool) {
	var req protocol.ExecuteRequest
	if err := json.Unmarshal(m.Content, &req); err != nil {
		k.replyError(m, &protocol.Error{EName: "BadRequest", EValue: "execute_request: " + err.Error(), Traceback: []string{}})
		return false
	}
	storeHistory, allowStdin, stopOnError := req.Flags()
	if storeHistory {
		k.count++
	}
	count := k.count
	// The cell is interruptible from here on: a client that has seen execute_input can
	// interrupt it.
	ctx, late, done := k.startCell(m)
	defer done()
	if !req.Silent {
		k.publish(m, "execute_input", protocol.ExecuteInput{Code: req.Code, ExecutionCount: count})
	}
	for _, d := range late {
		k.publish(m, "update_display_data", d)
	}
	started := time.Now()

	v, err := k.run(ctx, m, req.Code, req.Silent, allowStdin)
	reply := protocol.ExecuteReply{Status: "ok", ExecutionCount: count, Payload: []protocol.Payload{},
		UserExpressions: map[string]any{}}
	if err != nil {
		e := errorContent(err)
		if !req.Silent {
			k.publish(m, "error", e)
		}
		reply.Status, reply.Error = "error", e
	} else {
		if p, ok := v.(pager); ok {
			reply.Payload = append(reply.Payload, protocol.Payload{Source: "page", Data: bundle(p.Page()), Start: 0})
		} else if v != nil && !req.Silent {
			k.publish(m, "execute_result", protocol.ExecuteResult{ExecutionCount: count, Data: bundle(display.Of(v)), Metadata: map[string]any{}})
		}
		for name, expr := range req.UserExpressions {
			reply.UserExpressions[name] = k.userExpression(ctx, m, expr)
		}
	}
	if storeHistory {
		k.hist.add(count, req.Code)
	}
	k.reply(k.shellOut, m, "execute_reply", reply, map[string]any{
		"started": protocol.Date(started), "dependencies_met": true, "engine": k.id, "status": reply.Status,
	})
	return err != nil && stopOnError
}

// startCell makes the context of cell m, which interrupt_request and SIGINT cancel, and
// takes the late updates sent while no cell ran; done ends it.
func (k *kernel) startCell(m *protocol.Message) (ctx context.Context, late []protocol.DisplayData, done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	k.cellMu.Lock()
	k.cellCancel, k.cellMsg = cancel, m
	for _, d := range k.late {
		late = append(late, d)
	}
	k.late = nil
	k.cellMu.Unlock()
	return ctx, late, func() {
		k.cellMu.Lock()
		k.cellCancel, k.cellMsg = nil, nil
		k.cellMu.Unlock()
		cancel()
	}
}

// lateUpdate sends update d of display id after the cell that showed it (req) has returned.
// Clients follow only the messages of the cell they are running (nbclient drops the rest),
// so the update goes as the running cell's; while none runs, as req's, and once more as the
// next cell's, so that a client running the notebook on still sees it.
func (k *kernel) lateUpdate(req *protocol.Message, id string, d protocol.DisplayData) {
	k.cellMu.Lock()
	parent := k.cellMsg
	if parent == nil {
		parent = req
		if k.late == nil {
			k.late = map[string]protocol.DisplayData{}
		}
		k.late[id] = d
	}
	k.cellMu.Unlock()
	k.publish(parent, "update_display_data", d)
}

// run executes code on the session.
func (k *kernel) run(ctx context.Context, m *protocol.Message, code string, silent, allowStdin bool) (starlark.Value, error) {
	eng, err := k.engine()
	if err != nil {
		return nil, &session.Error{Name: "SessionError", Value: "the session did not start: " + err.Error()}
	}
	out := &cellOutput{k: k, req: m, ctx: ctx, silent: silent, allowStdin: allowStdin}
	defer out.done.Store(true)
	return eng.Exec(ctx, code, out)
}

// userExpression evaluates one of an execute_request's user_expressions.
func (k *kernel) userExpression(ctx context.Context, m *protocol.Message, expr string) any {
	v, err := k.run(ctx, m, expr, true, false)
	if err != nil {
		e := errorContent(err)
		return map[string]any{"status": "error", "ename": e.EName, "evalue": e.EValue, "traceback": e.Traceback}
	}
	data := map[string]any{"text/plain": "None"}
	if v != nil {
		data = bundle(display.Of(v))
	}
	return map[string]any{"status": "ok", "data": data, "metadata": map[string]any{}}
}

func (k *kernel) replyError(m *protocol.Message, e *protocol.Error) {
	k.reply(k.shellOut, m, "execute_reply", protocol.ExecuteReply{Status: "error", ExecutionCount: k.count,
		Payload: []protocol.Payload{}, UserExpressions: map[string]any{}, Error: e}, nil)
}

// errorContent turns a cell's error into the protocol's ename, evalue and traceback.
func errorContent(err error) *protocol.Error {
	var e *protocol.Error
	var se *session.Error
	switch {
	case errors.As(err, &se):
		e = &protocol.Error{EName: se.Name, EValue: se.Value, Traceback: se.Traceback}
	case errors.Is(err, context.Canceled):
		e = &protocol.Error{EName: "KeyboardInterrupt", EValue: "interrupted"}
	default:
		e = &protocol.Error{EName: "Error", EValue: err.Error()}
	}
	// As IPython does, the traceback ends with "ename: evalue": front ends show only the
	// traceback, so the message must be in it.
	e.Traceback = append(append([]string{}, e.Traceback...), "\x1b[0;31m"+e.EName+"\x1b[0m: "+e.EValue)
	return e
}

// bundle is b as the protocol's MIME bundle, with text/plain always present.
func bundle(b display.Bundle) map[string]any {
	if b == nil {
		return map[string]any{"text/plain": ""}
	}
	if _, ok := b["text/plain"]; !ok {
		b["text/plain"] = ""
	}
	return b
}

// cellOutput sends what one cell produces as iopub messages whose parent is the cell's
// execute_request. Calls after the cell has returned are dropped.
type cellOutput struct {
	k          *kernel
	req        *protocol.Message
	ctx        context.Context
	silent     bool
	allowStdin bool
	done       atomic.Bool
}

var _ session.Background = (*cellOutput)(nil)

// InPlace is true: Jupyter front ends update a display after its cell has returned.
func (o *cellOutput) InPlace() bool { return true }

func (o *cellOutput) quiet() bool { return o.silent || o.done.Load() }

func (o *cellOutput) Stream(name, text string) {
	if o.quiet() || text == "" {
		return
	}
	if name != "stderr" {
		name = "stdout"
	}
	o.k.publish(o.req, "stream", protocol.Stream{Name: name, Text: text})
}

// Display sends display_data, or update_display_data for an update. An update of a display
// still comes after the cell has returned (a load going on in the background): front ends
// redraw the display wherever it is.
func (o *cellOutput) Display(b display.Bundle, id string, update bool) {
	late := update && id != "" && o.done.Load()
	if o.silent || (o.quiet() && !late) {
		return
	}
	d := protocol.DisplayData{Data: bundle(b), Metadata: map[string]any{}}
	if id != "" {
		d.Transient = &protocol.Transient{DisplayID: id}
	}
	switch {
	case late:
		o.k.lateUpdate(o.req, id, d)
	case update && id != "":
		o.k.publish(o.req, "update_display_data", d)
	default:
		o.k.publish(o.req, "display_data", d)
	}
}

func (o *cellOutput) Clear(wait bool) {
	if o.quiet() {
		return
	}
	o.k.publish(o.req, "clear_output", protocol.ClearOutput{Wait: wait})
}

// Input sends an input_request to the client that sent the cell, and waits for its
// input_reply or the cell's interruption. With allow_stdin false it asks nothing.
func (o *cellOutput) Input(prompt string, password bool) (string, error) {
	if !o.allowStdin || o.done.Load() {
		return "", session.ErrNoStdin
	}
	k := o.k
	k.inputMu.Lock()
	defer k.inputMu.Unlock()
	for { // drop replies to earlier requests
		select {
		case <-k.inputs:
			continue
		default:
		}
		break
	}
	req := outgoing{ids: o.req.Identities, msgType: "input_request", parent: o.req,
		content: protocol.InputRequest{Prompt: prompt, Password: password}}
	k.enqueue(k.stdinOut, req)
	select {
	case r := <-k.inputs:
		var reply protocol.InputReply
		if err := json.Unmarshal(r.Content, &reply); err != nil {
			return "", errors.New("kernel: bad input_reply: " + err.Error())
		}
		return reply.Value, nil
	case <-o.ctx.Done():
		return "", o.ctx.Err()
	case <-k.quit:
		return "", errors.New("kernel: shutting down")
	}
}
