package cluster

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/vmcopy"
	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/internal/units"
	"github.com/rain-wasm/rain/wasm"
)

// DataPart is where one part of an array kept on the nodes is (see Client.Scatter).
type DataPart struct {
	Hash string // of its bytes: its address
	Size int    // bytes
	Node string // the node that holds it; "" while it is sent again, or computed again
}

// DataArg gives a map's task a part kept on the nodes as its argument Arg (see MapSpec.Data).
type DataArg struct {
	Arg  int
	Hash string
}

// stored is a part of an array this client keeps on a node.
type stored struct {
	hash  string
	size  int
	align int
	data  []byte   // the caller's copy, sent again when the part's node is lost; nil for a map's output
	from  *lineage // a map's output: how to compute it again
	// node is where the part is, in the node's incarnation inc; "" while it is nowhere.
	node, inc string
	refs      int           // holds: Scatter and a kept output take one, Free gives one back, a map holds one while it runs
	deps      int           // kept outputs computed from it, which may need it to be computed again
	placing   chan struct{} // closed when the placing under way ends; nil when none is
}

// lineage is how a map's kept output was computed: task args of export, with part input as
// argument inputArg and a copy of out (zeros of outZeros bytes when out is nil) as argument
// keep, which the node kept.
type lineage struct {
	export   Export
	args     []uint64
	input    string
	inputArg int
	out      []byte
	outZeros int
	outAlign int
	keep     int
}

// Scatter keeps each of parts on a node, where it stays until Free: each part goes to one
// ready node, the one holding least of the client's data among those with room for it (a node
// keeps data up to its memory limit, all clients' together), sent over the node's data link
// (straight to the node, see link.go; through the hub, in chunks as modules are, to a node with
// none), and only to a node that does not hold it already. A part is addressed by its hash
// (BLAKE3-256), as a module is by its SHA-256: the same bytes scattered twice are kept once. A
// map over parts (MapSpec.Data) runs each task on the node that holds its part, sending none of
// its bytes. align is the alignment a call gives a part in an instance's memory (its elements'
// size).
//
// The client keeps parts (not a copy of their bytes: they must not change until freed), and
// sends a part again to another node when its node is lost. It returns where each part went, in
// order, or the first error — ErrNoNodes, an error wrapping ErrDataLimit when no node has room
// for a part, or a node's failure — after letting go of the parts.
func (c *Client) Scatter(ctx context.Context, parts [][]byte, align int) ([]DataPart, error) {
	return c.scatter(ctx, parts, align, false)
}

// ScatterCopy is Scatter of copies of parts, which the client keeps: the caller may change
// parts after. Each part is copied as it is hashed, in one pass over its bytes.
func (c *Client) ScatterCopy(ctx context.Context, parts [][]byte, align int) ([]DataPart, error) {
	return c.scatter(ctx, parts, align, true)
}

// scatter is Scatter, of copies of parts if copies is set. A part the client holds already
// stays where it is.
func (c *Client) scatter(ctx context.Context, parts [][]byte, align int, copies bool) ([]DataPart, error) {
	if align < 0 || align > wire.MaxAlign || align&(align-1) != 0 {
		return nil, fmt.Errorf("cluster: scatter: alignment %d is not a power of two up to %d", align, wire.MaxAlign)
	}
	for i, p := range parts {
		if len(p) > wire.MaxPart {
			return nil, fmt.Errorf("cluster: scatter: part %d is %s, more than a node keeps in one part (%s): scatter into more parts",
				i, units.Bytes(uint64(len(p))), units.Bytes(wire.MaxPart))
		}
	}
	hashes, parts := hashParts(parts, copies)
	if c.misname != nil {
		for i, p := range parts {
			hashes[i] = c.misname(p)
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	var todo []*stored
	for i, hash := range hashes {
		p := c.parts[hash]
		if p == nil {
			p = &stored{hash: hash, size: len(parts[i]), align: align}
			c.parts[hash] = p
		}
		if p.data == nil {
			p.data = parts[i] // a map's output that is also this part: now it has a copy
		}
		p.refs++
		if !c.placedLocked(p) && !containsPart(todo, p) {
			todo = append(todo, p)
		}
	}
	c.mu.Unlock()
	if err := c.placeAll(ctx, todo); err != nil {
		c.Free(hashes...)
		return nil, err
	}
	return c.DataParts(hashes), nil
}

func containsPart(ps []*stored, p *stored) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// hashParts is the hash of each part (wire.PartHash), computed on every core, and the parts, or
// copies of them if copies is set: each piece of a part is hashed from its copy, just made.
func hashParts(parts [][]byte, copies bool) ([]string, [][]byte) {
	hashes := make([]string, len(parts))
	if copies {
		parts = slices.Clone(parts)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(len(parts), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				if !copies {
					hashes[i] = wire.PartHash(parts[i])
					continue
				}
				p := make([]byte, len(parts[i]))
				vmcopy.Prefault(p)
				h := wire.NewPartHasher()
				for off := 0; off < len(p); off += copyPiece {
					n := copy(p[off:], parts[i][off:min(off+copyPiece, len(p))])
					h.Write(p[off : off+n])
				}
				hashes[i], parts[i] = hex.EncodeToString(h.Sum(nil)), p
			}
		})
	}
	for i := range parts {
		next <- i
	}
	close(next)
	wg.Wait()
	return hashes, parts
}

// copyPiece is how much of a part ScatterCopy copies before it hashes it, while it is in the
// cache.
const copyPiece = 256 << 10

// placeAll places parts that are nowhere: it chooses their nodes all at once, so that they
// spread by size, and sends them, to several nodes at once and in turn to each.
func (c *Client) placeAll(ctx context.Context, parts []*stored) error {
	if len(parts) == 0 {
		return nil
	}
	// Largest first: the greedy choice then spreads sizes well.
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].size > parts[j].size })
	c.mu.Lock()
	for {
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		ready := 0
		for _, s := range c.nodes {
			if s.ready() {
				ready++
			}
		}
		if ready > 0 {
			break
		}
		if len(c.nodes) == 0 {
			c.mu.Unlock()
			return ErrNoNodes
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
		case <-changed:
		}
		c.mu.Lock()
	}
	load := c.dataLoadLocked()
	byNode := map[string][]*stored{}
	var nodes []string
	for _, p := range parts {
		node, err := c.roomiestLocked(load, p.size)
		if err != nil {
			c.mu.Unlock()
			return err
		}
		l := load[node]
		l.own += int64(p.size)
		l.all += int64(p.size)
		load[node] = l
		if byNode[node] == nil {
			nodes = append(nodes, node)
		}
		byNode[node] = append(byNode[node], p)
	}
	c.mu.Unlock()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for k, node := range nodes {
		wg.Go(func() {
			// The parts no one else is placing, sent in one go; then each part is placed,
			// or placed elsewhere if that failed, or waited for if another was placing it.
			ps := byNode[node]
			mine := c.claim(ps)
			inc, perrs := c.sendParts(ctx, node, mine)
			c.settle(mine, node, inc, perrs)
			for _, p := range ps {
				if _, err := c.ensurePart(ctx, p); err != nil {
					errs[k] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// claim marks the parts of ps that are nowhere, with a copy to send and nobody placing them, as
// being placed, and returns them.
func (c *Client) claim(ps []*stored) []*stored {
	c.mu.Lock()
	defer c.mu.Unlock()
	var mine []*stored
	for _, p := range ps {
		if !c.placedLocked(p) && p.placing == nil && p.data != nil {
			p.placing = make(chan struct{})
			mine = append(mine, p)
		}
	}
	return mine
}

// settle ends the placing of parts claimed, sent to node in incarnation inc, errs their errors.
func (c *Client) settle(parts []*stored, node, inc string, errs []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range parts {
		if errs[i] == nil {
			p.node, p.inc = node, inc
		}
		close(p.placing)
		p.placing = nil
		c.releaseLocked(p) // if it was freed meanwhile
	}
	c.broadcastLocked()
}

// dataLoad is what a ready node holds: this client's parts, and all clients' (as the node
// said last, or more if this client placed more there since).
type dataLoad struct{ own, all int64 }

// dataLoadLocked is the load of each ready node. c.mu is held.
func (c *Client) dataLoadLocked() map[string]dataLoad {
	own := map[string]int64{}
	for _, p := range c.parts {
		if c.placedLocked(p) {
			own[p.node] += int64(p.size)
		}
	}
	load := map[string]dataLoad{}
	for id, s := range c.nodes {
		if s.ready() {
			load[id] = dataLoad{own[id], max(s.info.Data, own[id])}
		}
	}
	return load
}

// roomiestLocked picks, among the ready nodes with room for size bytes more, the one that holds
// least of this client's data, so that a client's parts spread evenly; a node keeps data up to
// its limit, all clients' together. What a node holds is as it said last: when that leaves no
// room, a node that has room beside this client's own data is tried, as what it said may be
// older than a free (the node refuses a part it has no room for). c.mu is held.
func (c *Client) roomiestLocked(load map[string]dataLoad, size int) (string, error) {
	best, maybe := "", ""
	var limits []string
	less := func(id, than string) bool {
		b, ok := load[than]
		return than == "" || !ok || load[id].own < b.own || load[id].own == b.own && id < than
	}
	for id, l := range load {
		s := c.nodes[id]
		if lim := s.info.DataLimit; lim > 0 {
			limits = append(limits, fmt.Sprintf("%s holds %s of %s", id, units.Bytes(uint64(l.all)), units.Bytes(uint64(lim))))
			if l.own+int64(size) <= lim && less(id, maybe) {
				maybe = id
			}
			if l.all+int64(size) > lim {
				continue
			}
		}
		if less(id, best) {
			best = id
		}
	}
	if best == "" {
		best = maybe
	}
	if best == "" {
		sort.Strings(limits)
		return "", fmt.Errorf("%w: no node has room for a part of %s (%s): scatter into more parts or over more nodes, free data you no longer need, or start nodes with a larger --memory-limit",
			ErrDataLimit, units.Bytes(uint64(size)), strings.Join(limits, "; "))
	}
	return best, nil
}

// placedLocked says whether part p is on a node that holds it: the node is heard from, in the
// incarnation the part was placed in. c.mu is held.
func (c *Client) placedLocked(p *stored) bool {
	if p.node == "" {
		return false
	}
	s := c.nodes[p.node]
	return s != nil && !s.lost && s.inc == p.inc
}

// ensure returns the node that holds part hash, first placing it if it is nowhere: sent from
// the caller's copy, or computed again from its input (a map's output), on the node with the
// most room.
func (c *Client) ensure(ctx context.Context, hash string) (string, error) {
	c.mu.Lock()
	p := c.parts[hash]
	c.mu.Unlock()
	if p == nil {
		return "", fmt.Errorf("%w: part %.12s", ErrUnknownData, hash)
	}
	return c.ensurePart(ctx, p)
}

// placeTries bounds the nodes a part is sent to in turn, each lost while it was sent.
const placeTries = 3

// ensurePart is ensure of part p: placed on the roomiest node, or, a map's output, computed
// where its input is.
func (c *Client) ensurePart(ctx context.Context, p *stored) (string, error) {
	var last error
	for try := 0; ; {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return "", ErrClosed
		}
		if c.placedLocked(p) {
			at := p.node
			c.mu.Unlock()
			return at, nil
		}
		if p.placing != nil {
			placing := p.placing
			c.mu.Unlock()
			select {
			case <-placing:
				continue
			case <-ctx.Done():
				return "", fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
			}
		}
		if try == placeTries {
			c.mu.Unlock()
			return "", last
		}
		target := ""
		if p.from == nil {
			var err error
			if target, err = c.roomiestLocked(c.dataLoadLocked(), p.size); err != nil {
				if len(c.nodes) == 0 {
					c.mu.Unlock()
					return "", ErrNoNodes
				}
				if len(c.dataLoadLocked()) > 0 {
					c.mu.Unlock()
					return "", err
				}
				// No node is ready: wait for one.
				changed := c.changed
				c.mu.Unlock()
				select {
				case <-changed:
					continue
				case <-ctx.Done():
					return "", fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
				}
			}
		}
		if p.data == nil && p.from == nil {
			c.mu.Unlock()
			return "", fmt.Errorf("%w: part %.12s was lost with its node, and this client has no copy of it", ErrNoData, p.hash)
		}
		done := make(chan struct{})
		p.placing = done
		c.mu.Unlock()
		var at, inc string
		var err error
		if p.data != nil {
			at = target
			var errs []error
			inc, errs = c.sendParts(ctx, target, []*stored{p})
			err = errs[0]
		} else {
			at, inc, err = c.recompute(ctx, p)
		}
		c.mu.Lock()
		p.placing = nil
		close(done)
		if err == nil {
			p.node, p.inc = at, inc
			c.releaseLocked(p) // if it was freed meanwhile
			c.broadcastLocked()
		}
		c.mu.Unlock()
		if err == nil {
			return at, nil
		}
		if !errors.Is(err, ErrNodeLost) && !errors.Is(err, ErrNoData) || ctx.Err() != nil {
			return "", err
		}
		last = err
		try++
	}
}

// dataWindow is how many chunks of parts are on their way to or from a node at once.
const dataWindow = 8

// dataInbound bounds the bytes of the chunks on their way back to the client from all its
// nodes at once (see Gather). The hub holds what a client has not read yet up to its max
// pending, 64 MiB by default, past which it drops the client as a slow consumer: many nodes
// answering with full windows at once would pass it.
const dataInbound = 16 << 20

// dataChunkSize is the size of the chunks parts travel in: 1 MiB, or less under a hub that
// carries less (room is left for the headers). Larger chunks were no faster on loopback.
func (c *Client) dataChunkSize() int {
	limit := int(c.nc.MaxPayload())
	return max(1, min(1<<20, limit-min(4096, limit/4)))
}

// dataMsg is a data message to node about part p.
func (c *Client) dataMsg(node, op string, p *stored) *nats.Msg {
	m := nats.NewMsg(wire.NodeSubject(node, "data"))
	m.Header.Set(wire.HdrVersion, strconv.Itoa(wire.Version))
	m.Header.Set(wire.HdrOp, op)
	m.Header.Set(wire.HdrHash, p.hash)
	m.Header.Set(wire.HdrClient, c.id)
	return m
}

// dataRequest is a data message on its way, answered on the client's inbox as a call is: if
// the node is lost meanwhile, its answer is ErrNodeLost.
type dataRequest struct {
	task string
	p    *pending
}

// publishData sends m, whose subject is a node's, as a request answered on the client's
// inbox. It fails with ErrNodeLost if the node is not ready, or is not in incarnation inc
// (unless inc is "").
func (c *Client) publishData(node, inc string, m *nats.Msg) (*dataRequest, error) {
	c.mu.Lock()
	s := c.nodes[node]
	if s == nil || s.lost || (inc != "" && s.inc != inc) {
		c.mu.Unlock()
		return nil, &RemoteError{Node: node, Err: ErrNodeLost}
	}
	c.seq++
	r := &dataRequest{task: c.id + "-" + strconv.FormatUint(c.seq, 36),
		p: &pending{node: node, inc: s.inc, batch: true, result: make(chan outcome, 1)}}
	c.pending[r.task] = r.p
	c.mu.Unlock()
	m.Reply = c.inbox + "." + r.task
	if err := c.nc.PublishMsg(m); err != nil {
		c.forget(r)
		return nil, fmt.Errorf("cluster: data: %w", err)
	}
	return r, nil
}

// forget stops waiting for r's answer.
func (c *Client) forget(r *dataRequest) {
	c.mu.Lock()
	delete(c.pending, r.task)
	c.mu.Unlock()
}

// wait waits for r's answer from node.
func (c *Client) wait(ctx context.Context, node string, r *dataRequest) ([]byte, nats.Header, error) {
	select {
	case out := <-r.p.result:
		if out.err != nil {
			return nil, nil, &RemoteError{Node: node, Err: out.err}
		}
		return out.raw, out.hdr, nil
	case <-ctx.Done():
		c.forget(r)
		return nil, nil, fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
	case <-c.done:
		return nil, nil, ErrClosed
	}
}

// loadReply reads a node's answer to a data message.
func loadReply(node string, raw []byte) (*wire.LoadReply, error) {
	var rep wire.LoadReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, &RemoteError{Node: node, Err: fmt.Errorf("bad answer to a data message: %w", err)}
	}
	if rep.Err != nil {
		return nil, &RemoteError{Node: node, Err: wire.DecodeError(rep.Err)}
	}
	return &rep, nil
}

// sendParts sends parts to node, each unless the node holds it already, and returns the
// node's incarnation that holds them and each part's error. It asks whether the node holds
// each part all at once, then sends the chunks of those it lacks one after another, dataWindow
// chunks on their way at a time; a part whose bytes arrive damaged (the node checks each chunk's
// CRC-32C) is sent again, chunkTries times at most.
func (c *Client) sendParts(ctx context.Context, node string, parts []*stored) (string, []error) {
	errs := make([]error, len(parts))
	c.mu.Lock()
	s := c.nodes[node]
	inc := ""
	if s != nil {
		inc = s.inc
	}
	c.mu.Unlock()
	if s == nil {
		for i := range errs {
			errs[i] = &RemoteError{Node: node, Err: ErrNodeLost}
		}
		return "", errs
	}
	asks := make([]*dataRequest, len(parts))
	for i, p := range parts {
		asks[i], errs[i] = c.publishData(node, inc, c.dataMsg(node, "has", p))
	}
	var todo []int
	for i, r := range asks {
		if r == nil {
			continue
		}
		raw, _, err := c.wait(ctx, node, r)
		var rep *wire.LoadReply
		if err == nil {
			rep, err = loadReply(node, raw)
		}
		switch {
		case err != nil:
			errs[i] = err
		case !rep.Have:
			todo = append(todo, i)
		}
	}
	for try := 1; len(todo) > 0; try++ {
		c.send(ctx, node, inc, parts, todo, errs)
		if try == chunkTries {
			break
		}
		var again []int
		for _, i := range todo {
			if errors.Is(errs[i], ErrChecksum) {
				errs[i] = nil
				again = append(again, i)
			}
		}
		todo = again
	}
	return inc, errs
}

// send sends the bytes of parts[i], for each i of todo, to node in incarnation inc, and sets
// errs[i] to the part's failure: over the node's data link (see link.go), or through the hub
// if the node has none or the link fails.
func (c *Client) send(ctx context.Context, node, inc string, parts []*stored, todo []int, errs []error) {
	if l := c.openLink(ctx, node, inc); l != nil {
		var rest []int
		for _, i := range todo {
			if err := l.put(ctx, parts[i]); errors.Is(err, errLinkDown) {
				rest = append(rest, i)
			} else {
				errs[i] = err
			}
		}
		l.close()
		if todo = rest; len(todo) == 0 {
			return
		}
	}
	c.sendChunks(ctx, node, inc, parts, todo, errs)
}

// sendChunks sends the bytes of parts[i], for each i of todo, to node in incarnation inc, and
// sets errs[i] to the part's failure.
func (c *Client) sendChunks(ctx context.Context, node, inc string, parts []*stored, todo []int, errs []error) {
	chunk := c.dataChunkSize()
	type sent struct {
		r    *dataRequest
		i    int  // the part
		last bool // its last chunk
	}
	var window []sent
	defer func() {
		for _, w := range window {
			c.forget(w.r)
		}
	}()
	take := func() {
		w := window[0]
		window = window[1:]
		raw, _, err := c.wait(ctx, node, w.r)
		var rep *wire.LoadReply
		if err == nil {
			rep, err = loadReply(node, raw)
		}
		if err == nil && w.last && !rep.Have {
			err = &RemoteError{Node: node, Err: errors.New("part not kept after its last chunk")}
		}
		if errs[w.i] == nil {
			errs[w.i] = err
		}
	}
	for _, i := range todo {
		p := parts[i]
		transfer := wire.RandomHex(8)
		for off := 0; off < p.size && errs[i] == nil; off += chunk {
			end := min(off+chunk, p.size)
			m := c.dataMsg(node, "chunk", p)
			m.Header.Set(wire.HdrSize, strconv.Itoa(p.size))
			m.Header.Set(wire.HdrOffset, strconv.Itoa(off))
			m.Header.Set(wire.HdrTransfer, transfer)
			m.Data = p.data[off:end]
			m.Header.Set(wire.HdrCRC, strconv.FormatUint(uint64(wire.CRC(0, m.Data)), 10))
			if c.damage != nil {
				m.Data = c.damage(node, off, m.Data)
			}
			r, err := c.publishData(node, inc, m)
			if err != nil {
				for _, k := range todo {
					if errs[k] == nil {
						errs[k] = err // the node is gone: so are the parts not yet sent
					}
				}
				return
			}
			window = append(window, sent{r, i, end == p.size})
			if len(window) == dataWindow {
				take()
			}
		}
	}
	for len(window) > 0 {
		take()
	}
}

// errWindowFirst says that the answers already asked for must come first.
var errWindowFirst = errors.New("cluster: take an answer first")

// inboundToken takes one of the client's tokens for a chunk on its way back (see dataInbound).
// With others of its own on their way (pending), it gives errWindowFirst rather than wait
// for a token while holding them.
func (c *Client) inboundToken(ctx context.Context, pending bool) error {
	select {
	case c.inbound <- struct{}{}:
		return nil
	default:
	}
	if pending {
		return errWindowFirst
	}
	select {
	case c.inbound <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
	case <-c.done:
		return ErrClosed
	}
}

// fetchParts brings the bytes of parts back from node into outs (outs[i] for parts[i]), and
// returns each part's error: over the node's data link (see link.go), or through the hub if
// the node has none or the link fails.
func (c *Client) fetchParts(ctx context.Context, node string, parts []*stored, outs [][]byte) []error {
	l := c.openLink(ctx, node, "")
	if l == nil {
		return c.fetchChunks(ctx, node, parts, outs)
	}
	defer l.close()
	errs := make([]error, len(parts))
	var rest []int
	for i, p := range parts {
		if errs[i] = l.get(ctx, p, outs[i]); errors.Is(errs[i], errLinkDown) {
			rest = append(rest, i)
		}
	}
	if len(rest) > 0 {
		ps, os := make([]*stored, len(rest)), make([][]byte, len(rest))
		for k, i := range rest {
			ps[k], os[k] = parts[i], outs[i]
		}
		for k, err := range c.fetchChunks(ctx, node, ps, os) {
			errs[rest[k]] = err
		}
	}
	return errs
}

// fetchChunks brings the bytes of parts back from node through the hub into outs (outs[i] for
// parts[i]), the chunks of one part after another, dataWindow chunks on their way at a time,
// and returns each part's error.
func (c *Client) fetchChunks(ctx context.Context, node string, parts []*stored, outs [][]byte) []error {
	errs := make([]error, len(parts))
	chunk := c.dataChunkSize()
	type get struct {
		r      *dataRequest
		i, off int
	}
	var window []get
	defer func() {
		for _, g := range window {
			c.forget(g.r)
			<-c.inbound
		}
	}()
	take := func() {
		g := window[0]
		window = window[1:]
		p := parts[g.i]
		raw, hdr, err := c.wait(ctx, node, g.r)
		<-c.inbound
		var data []byte
		if err == nil {
			if data, err = wire.ReadGet(raw, hdr); err != nil {
				err = &RemoteError{Node: node, Err: err}
			}
		}
		if want := min(chunk, p.size-g.off); err == nil && len(data) != want {
			err = &RemoteError{Node: node, Err: fmt.Errorf("%d bytes of part %.12s at %d, asked for %d", len(data), p.hash, g.off, want)}
		}
		if err == nil {
			copy(outs[g.i][g.off:], data)
		} else if errs[g.i] == nil {
			errs[g.i] = err
		}
	}
	for i, p := range parts {
		for off := 0; off < p.size && errs[i] == nil; off += chunk {
			m := c.dataMsg(node, "get", p)
			m.Header.Set(wire.HdrOffset, strconv.Itoa(off))
			m.Header.Set(wire.HdrLength, strconv.Itoa(min(chunk, p.size-off)))
			err := c.inboundToken(ctx, len(window) > 0)
			if errors.Is(err, errWindowFirst) {
				take() // the window's oldest answer first: it frees a token
				err = c.inboundToken(ctx, false)
			}
			var r *dataRequest
			if err == nil {
				if r, err = c.publishData(node, "", m); err != nil {
					<-c.inbound
				}
			}
			if err != nil {
				for k := i; k < len(parts); k++ {
					if errs[k] == nil {
						errs[k] = err
					}
				}
				for len(window) > 0 {
					take()
				}
				return errs
			}
			window = append(window, get{r, i, off})
			if len(window) == dataWindow {
				take()
			}
		}
	}
	for len(window) > 0 {
		take()
	}
	return errs
}

// Gather brings back the bytes of parts kept on the nodes (see Scatter and MapSpec.Keep), in
// order: each from the node that holds it, from several nodes at once. A part whose node was
// lost is first placed again (sent from the client's copy, or computed again from its input).
// It fails with ErrUnknownData for a part the client does not hold.
//
// The parts come back one after another in one array: the first part's slice reaches, within
// its capacity, over them all, so that the whole array needs no copy (see Joined).
func (c *Client) Gather(ctx context.Context, hashes []string) ([][]byte, error) {
	c.mu.Lock()
	parts := make([]*stored, len(hashes))
	for i, hash := range hashes {
		if parts[i] = c.parts[hash]; parts[i] == nil || parts[i].refs == 0 {
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: part %.12s", ErrUnknownData, hash)
		}
		parts[i].refs++ // held while it is fetched
	}
	c.mu.Unlock()
	defer c.Free(hashes...)
	total := 0
	for _, p := range parts {
		total += p.size
	}
	all := make([]byte, total)
	out := make([][]byte, len(hashes))
	for i, off := 0, 0; i < len(parts); i++ {
		out[i] = all[off : off+parts[i].size]
		off += parts[i].size
	}
	errs := make([]error, len(hashes))
	// fetch places part i if it is nowhere, and brings it back.
	fetch := func(i int) {
		for try := 0; ; try++ {
			node, err := c.ensurePart(ctx, parts[i])
			if err == nil {
				err = c.fetchParts(ctx, node, parts[i:i+1], out[i:i+1])[0]
			}
			if err == nil || try == placeTries || ctx.Err() != nil || !errors.Is(err, ErrNodeLost) && !errors.Is(err, ErrNoData) {
				errs[i] = err
				return
			}
			if errors.Is(err, ErrNoData) { // the node restarted: the part is nowhere
				c.unplace(node, []string{parts[i].hash})
			}
		}
	}
	// One goroutine per node, fetching its parts in one stream; those that fail, and those
	// that are nowhere, one by one after.
	byNode := map[string][]int{}
	c.mu.Lock()
	for i, p := range parts {
		node := ""
		if c.placedLocked(p) {
			node = p.node
		}
		byNode[node] = append(byNode[node], i)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for node, list := range byNode {
		wg.Go(func() {
			if node != "" {
				ps, outs := make([]*stored, len(list)), make([][]byte, len(list))
				for k, i := range list {
					ps[k], outs[k] = parts[i], out[i]
				}
				ferrs := c.fetchParts(ctx, node, ps, outs)
				var again []int
				for k, err := range ferrs {
					switch {
					case err == nil:
					case ctx.Err() == nil && (errors.Is(err, ErrNodeLost) || errors.Is(err, ErrNoData)):
						if errors.Is(err, ErrNoData) {
							c.unplace(node, []string{ps[k].hash})
						}
						again = append(again, list[k])
					default:
						errs[list[k]] = err
					}
				}
				list = again
			}
			for _, i := range list {
				fetch(i)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Joined is the parts Gather brought back as one array: without a copy (see Gather), unless
// they were not brought back by Gather.
func Joined(parts [][]byte) []byte {
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	if len(parts) == 0 || cap(parts[0]) < total {
		return bytes.Join(parts, nil)
	}
	joined := parts[0][:total]
	for i, off := 0, 0; i < len(parts); i++ {
		if len(parts[i]) > 0 && &joined[off] != &parts[i][0] {
			return bytes.Join(parts, nil)
		}
		off += len(parts[i])
	}
	return joined
}

// Free lets go of parts kept on the nodes, once for each time it is named: a part that nothing
// holds any more (the Scatter or map that kept it, a map that runs over it) is dropped from its
// node. Parts the client does not hold are ignored.
func (c *Client) Free(hashes ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hash := range hashes {
		if p := c.parts[hash]; p != nil && p.refs > 0 {
			p.refs--
			c.releaseLocked(p)
		}
	}
}

// releaseLocked drops part p from its node if nothing holds it, and forgets it if no kept
// output needs it either. c.mu is held.
func (c *Client) releaseLocked(p *stored) {
	if p.refs > 0 || p.placing != nil {
		return
	}
	if p.node != "" {
		c.dropUnusedLocked(p.node, p.hash) // a node that is gone has dropped it
		p.node, p.inc = "", ""
	}
	if p.deps > 0 {
		return
	}
	delete(c.parts, p.hash)
	if p.from != nil {
		if in := c.parts[p.from.input]; in != nil {
			in.deps--
			c.releaseLocked(in)
		}
	}
}

// hold takes a hold on parts (see Free), and fails if one is not held.
func (c *Client) hold(hashes []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, hash := range hashes {
		p := c.parts[hash]
		if p == nil || p.refs == 0 {
			for _, s := range hashes[:k] {
				c.parts[s].refs--
			}
			return fmt.Errorf("%w: part %.12s", ErrUnknownData, hash)
		}
		p.refs++
	}
	return nil
}

// kept records an output that a map's task left on node (in incarnation inc), computed as from
// says, and takes a hold on it.
func (c *Client) kept(k wire.Kept, node, inc string, align int, from *lineage) DataPart {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.parts[k.Hash]
	switch {
	case p == nil:
		p = &stored{hash: k.Hash, size: k.Size, align: align, from: from, node: node, inc: inc}
		c.parts[k.Hash] = p
		if in := c.parts[from.input]; in != nil {
			in.deps++
		}
	case !c.placedLocked(p) && p.placing == nil:
		p.node, p.inc = node, inc
	case p.node != node: // it is elsewhere already: this copy is not needed
		c.nc.PublishMsg(c.dataMsg(node, "free", p))
	}
	p.refs++
	return DataPart{Hash: p.hash, Size: p.size, Node: p.node}
}

// recompute computes a map's output again, where its input is (placing the input first if it
// is nowhere), and returns the node that holds it and that node's incarnation. The output must
// come out as it did: a function whose result changes from run to run cannot be computed again.
func (c *Client) recompute(ctx context.Context, p *stored) (string, string, error) {
	f := p.from
	c.mu.Lock()
	in := c.parts[f.input]
	if in != nil {
		in.refs++ // held while it is used
	}
	c.mu.Unlock()
	if in == nil {
		return "", "", fmt.Errorf("%w: part %.12s was lost with its node, and so was what it was computed from", ErrNoData, p.hash)
	}
	defer c.Free(in.hash)
	node, err := c.ensurePart(ctx, in)
	if err != nil {
		return "", "", err
	}
	args := make([]uint64, len(f.args))
	copy(args, f.args)
	refs := []wire.DataRef{{Arg: f.inputArg, Align: in.align, Hash: in.hash}}
	var bufs [][]wasm.Buffer
	if f.out != nil {
		bufs = [][]wasm.Buffer{{{Arg: f.keep, Data: f.out, Align: f.outAlign}}}
	} else {
		refs = append(refs, wire.DataRef{Arg: f.keep, Align: f.outAlign, Zeros: f.outZeros})
	}
	keep := f.keep
	var res Result
	var inc string
	ok, err := c.streamBatch(ctx, BatchCall{Export: f.export, Args: [][]uint64{args}, Buffers: bufs, Node: node,
		data: [][]wire.DataRef{refs}, dataSizes: []int{in.size + f.outZeros}, keep: &keep},
		true, func(at string, _ []string) { inc = at }, func(_ int, rs []Result) { res = rs[0] })
	switch {
	case !ok || err != nil:
		return "", "", err
	case res.Err != nil:
		return "", "", res.Err
	case res.Kept == nil:
		return "", "", &RemoteError{Node: node, Func: f.export.Func, Err: errors.New("the node kept no output")}
	case res.Kept.Hash != p.hash:
		c.nc.PublishMsg(c.dataMsg(node, "free", &stored{hash: res.Kept.Hash}))
		return "", "", fmt.Errorf("%w: part %.12s was lost with node %s and computed again from its input, but %s gave other bytes: a function whose result changes from run to run cannot be computed again",
			ErrNoData, p.hash, p.node, f.export.Func)
	}
	return node, inc, nil
}

// DataParts says where parts kept on the nodes are now: for each, its node, or "" while it is
// placed again or if the client does not hold it.
func (c *Client) DataParts(hashes []string) []DataPart {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]DataPart, len(hashes))
	for i, hash := range hashes {
		out[i].Hash = hash
		if p := c.parts[hash]; p != nil {
			out[i].Size = p.size
			if c.placedLocked(p) {
				out[i].Node = p.node
			}
		}
	}
	return out
}

// freeAllLocked drops every part the client keeps from its node, when the client closes.
// c.mu is held.
func (c *Client) freeAllLocked() {
	for _, p := range c.parts {
		if p.node != "" {
			c.nc.PublishMsg(c.dataMsg(p.node, "free", p))
		}
	}
	clear(c.parts)
}

// unplace marks parts that node said it does not hold as nowhere, so that they are placed
// again.
func (c *Client) unplace(node string, hashes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hash := range hashes {
		if p := c.parts[hash]; p != nil && p.node == node && p.placing == nil {
			p.node, p.inc = "", ""
		}
	}
}

// drop tells node that the client does not need part hash there: a copy of an output it holds
// elsewhere.
func (c *Client) drop(node, hash string) {
	c.nc.PublishMsg(c.dataMsg(node, "free", &stored{hash: hash}))
}
