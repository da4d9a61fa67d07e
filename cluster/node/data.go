package node

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/internal/units"
	"github.com/rain-wasm/rain/wasm"
)

// store is the data a node keeps for its clients: the parts of arrays they scattered and the
// outputs their maps left here (see wire's data.go), in the supervisor's memory, which outlives
// its workers. It holds a part once whatever the clients that want it, and at most limit bytes
// of parts and of parts on their way in (0: no limit).
//
// A part is named by its hash (wire.PartHash), which its sender computed. The store checks that
// name only when another client asks for the part (see shareLocked): a client's own data is its
// own business, and hashing every part as it comes would cost the node as much CPU as receiving
// it, but no client may hand another bytes that are not what their name says.
//
// The memory of a large part that came in one piece (see room) is not given back when the part
// is dropped, but kept for the next such part: spare, until none has been dropped or taken for
// spareKeep. A part copied in through memory then lands in pages that are mapped already,
// which the allocator would otherwise zero, or the kernel map afresh, at every page (on a
// virtual machine that hands free memory back to its host, several times as slow).
type store struct {
	limit int64

	mu       sync.Mutex
	parts    map[string]*held     // by hash
	incoming map[string]*incoming // by hash and transfer
	used     int64                // bytes of parts held, and of those on their way in
	missing  map[string]time.Time // clients that did not answer since then (see collect)
	spare    [][]byte             // memory of dropped parts, for the next (see room)
	spareFor time.Duration        // how long spare memory waits for a part (spareKeep)
	expire   *time.Timer          // lets go of spare memory (see trim), nil until some is kept
}

// spareLeast is the size of the least memory the store keeps spare; spareMost bounds the
// spare memory of a store with no limit (one with a limit keeps its parts and spare memory
// within it).
const (
	spareLeast = 1 << 20
	spareMost  = 1 << 30
)

// spareKeep is how long a store keeps spare memory that no part took: long enough for a person
// to free an array and scatter the next.
const spareKeep = 10 * time.Second

// held is a part, kept in the chunks it arrived in (no part is copied into one array as its
// chunks arrive), and the clients that keep it.
type held struct {
	chunks [][]byte
	starts []int // where each chunk begins in the part
	size   int
	owners map[string]bool
	// checked says its bytes were found to match its hash: it may be shared. A map's output
	// is checked (the node named it); a part a client sent is checked once another asks for it.
	checked bool
	// spare says its one chunk is memory from room, to be kept spare once the part is dropped
	// and no longer lent (pins counts the lends; dropped says it is no longer in the store).
	spare   bool
	pins    int
	dropped bool
}

func newHeld(chunks [][]byte, client string) *held {
	h := &held{chunks: chunks, starts: make([]int, len(chunks)), owners: map[string]bool{client: true}}
	for i, c := range chunks {
		h.starts[i] = h.size
		h.size += len(c)
	}
	return h
}

// bytes are the part's bytes off…off+n: a chunk's own when they lie within one, else a copy.
func (h *held) bytes(off, n int) []byte {
	i := sort.Search(len(h.starts), func(i int) bool { return h.starts[i] > off }) - 1
	if c := h.chunks[i]; off-h.starts[i]+n <= len(c) {
		return c[off-h.starts[i] : off-h.starts[i]+n : off-h.starts[i]+n]
	}
	out := make([]byte, 0, n)
	for ; len(out) < n; i++ {
		c := h.chunks[i][max(0, off-h.starts[i]):]
		out = append(out, c[:min(len(c), n-len(out))]...)
	}
	return out
}

// incoming is a part arriving in chunks, its room counted in the store's used.
type incoming struct {
	chunks  [][]byte
	got     int
	size    int
	started time.Time
	client  string
	spare   bool // its one chunk comes from room
}

func newStore(limit int64) *store {
	return &store{limit: limit, parts: map[string]*held{}, incoming: map[string]*incoming{}, missing: map[string]time.Time{}, spareFor: spareKeep}
}

// usage is the bytes of parts the store holds, and how many.
func (s *store) usage() (bytes int64, parts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.parts {
		bytes += int64(h.size)
	}
	return bytes, len(s.parts)
}

// held names the most parts of the store, largest first (then by hash).
func (s *store) held(most int) []wire.Held {
	s.mu.Lock()
	list := make([]wire.Held, 0, len(s.parts))
	for hash, h := range s.parts {
		owners := make([]string, 0, len(h.owners))
		for c := range h.owners {
			owners = append(owners, c)
		}
		sort.Strings(owners)
		list = append(list, wire.Held{Hash: hash, Size: int64(h.size), Owners: owners})
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool {
		if list[i].Size != list[j].Size {
			return list[i].Size > list[j].Size
		}
		return list[i].Hash < list[j].Hash
	})
	return list[:min(len(list), most)]
}

// shareLocked is part hash for client, if the store holds it, and then, with own, holds it for
// client too. Its bytes must not be changed. A part that client does not hold already is
// checked against its hash first, once: if they do not match, the clients that sent it named
// it wrongly, and the store drops it (dropped; the worker must drop it too) and answers no
// part. Its bytes are read outside the lock only lent (see lend).
func (s *store) shareLocked(hash, client string, own bool) (h *held, dropped bool) {
	h = s.parts[hash]
	if h == nil {
		return nil, false
	}
	if !h.checked && !h.owners[client] {
		// Under the lock: the store's other users wait for the hash (a part shared for the
		// first time) rather than see it twice.
		if wire.PartHash(h.chunks...) != hash {
			s.dropLocked(hash)
			return nil, true
		}
		h.checked = true
	}
	if own {
		h.owners[client] = true
	}
	return h, false
}

// reserveLocked makes room for size bytes more, or says why there is none.
func (s *store) reserveLocked(size int) error {
	if s.limit > 0 && s.used+int64(size) > s.limit {
		return fmt.Errorf("%w: it holds %s, and a part of %s would pass its memory limit of %s: scatter into more parts or over more nodes, free data you no longer need, or start nodes with a larger --memory-limit",
			wire.ErrDataLimit, units.Bytes(uint64(s.used)), units.Bytes(uint64(size)), units.Bytes(uint64(s.limit)))
	}
	s.used += int64(size)
	return nil
}

// keep keeps data, whose hash the node computed (hash), for client: a map's output, or an
// array a call changed. It reports whether client held no part of that name before (added),
// and whether one that clients sent had other bytes, and was dropped for data (dropped: the
// worker must drop it too). It fails if the limit leaves no room for it.
func (s *store) keep(hash string, data []byte, client string) (added, dropped bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, dropped := s.shareLocked(hash, "", false) // a part clients sent is checked first
	if h != nil {
		added = !h.owners[client]
		h.owners[client] = true
		return added, false, nil
	}
	if err := s.reserveLocked(len(data)); err != nil {
		return false, dropped, err
	}
	h = newHeld([][]byte{data}, client)
	h.checked = true // the node named it
	s.parts[hash] = h
	return true, dropped, nil
}

// free drops client's hold on part hash, and the part once no client holds it, which it
// reports.
func (s *store) free(hash, client string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.parts[hash]; h != nil {
		delete(h.owners, client)
		if len(h.owners) == 0 {
			s.dropLocked(hash)
			return true
		}
	}
	return false
}

func (s *store) dropLocked(hash string) {
	h := s.parts[hash]
	s.used -= int64(h.size)
	delete(s.parts, hash)
	h.dropped = true
	s.spareLocked(h)
}

// lend is part hash for client, as shareLocked says, lent: the memory of its bytes is not
// reused for another part, should it be dropped, until it is given back (giveBack). Whoever
// reads a part's bytes outside the store's lock borrows it so.
func (s *store) lend(hash, client string, own bool) (h *held, dropped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, dropped = s.shareLocked(hash, client, own)
	if h != nil {
		h.pins++
	}
	return h, dropped
}

// giveBack ends a lend of h.
func (s *store) giveBack(h *held) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.pins--
	s.spareLocked(h)
}

// spareLocked keeps the memory of h spare, if it came from room and h is dropped and lent to
// no one, and there is room for it.
func (s *store) spareLocked(h *held) {
	if !h.spare || !h.dropped || h.pins > 0 {
		return
	}
	h.spare = false // once
	b := h.chunks[0]
	most := int64(spareMost)
	if s.limit > 0 {
		most = s.limit - s.used
	}
	if cap(b) >= spareLeast && s.sparedLocked()+int64(cap(b)) <= most {
		s.spare = append(s.spare, b[:cap(b)])
		if s.expire == nil {
			s.expire = time.AfterFunc(s.spareFor, s.trim)
		} else {
			s.expire.Reset(s.spareFor)
		}
	}
}

// room makes room for part d of d.Size bytes that is to arrive in one piece, as begin does,
// and returns the memory for its bytes (chunk then takes it): spare memory if some fits, which
// may hold another part's bytes.
func (s *store) room(d wire.DataOp) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.beginLocked(d)
	if err != nil {
		return nil, err
	}
	in.spare = true
	// The least spare memory that fits, if it is not more than twice the size.
	best := -1
	for i, b := range s.spare {
		if len(b) >= d.Size && len(b) <= 2*d.Size && (best < 0 || len(b) < len(s.spare[best])) {
			best = i
		}
	}
	var b []byte
	if best >= 0 {
		b = s.spare[best][:d.Size]
		s.spare = slices.Delete(s.spare, best, best+1)
	}
	// Within a limit, what is left spare fits beside the parts.
	for s.limit > 0 && len(s.spare) > 0 && s.used+s.sparedLocked() > s.limit {
		s.spare = slices.Delete(s.spare, 0, 1)
	}
	if b == nil {
		b = make([]byte, d.Size)
	}
	return b, nil
}

// sparedLocked is the bytes of the store's spare memory.
func (s *store) sparedLocked() int64 {
	var n int64
	for _, b := range s.spare {
		n += int64(len(b))
	}
	return n
}

// trim lets go of the store's spare memory, and gives the process's free memory back to the
// system.
func (s *store) trim() {
	s.mu.Lock()
	had := len(s.spare) > 0
	s.spare = nil
	s.mu.Unlock()
	if had {
		debug.FreeOSMemory()
	}
}

// chunk takes a chunk of a part on its way in (data, which it keeps), and keeps the part once
// its last chunk has come, which it reports. If another client's part of that name came by
// another way meanwhile, the client shares it (see shareLocked), or, if its bytes do not match
// the name, has its own kept instead of it: dropped says so (the worker must drop the other).
func (s *store) chunk(d wire.DataOp, data []byte) (done, dropped bool, err error) {
	key := d.Hash + "/" + d.Transfer
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.incoming[key]
	if d.Off == 0 && (in == nil || in.got > 0) {
		var err error
		if in, err = s.beginLocked(d); err != nil {
			return false, false, err
		}
	}
	if in == nil || in.got != d.Off || in.size != d.Size || in.client != d.Client {
		s.abandonLocked(key)
		return false, false, fmt.Errorf("chunk at %d of part %s out of order", d.Off, d.Hash)
	}
	in.chunks = append(in.chunks, data)
	in.got += len(data)
	if in.got < in.size {
		return false, false, nil
	}
	s.abandonLocked(key)
	h, dropped := s.shareLocked(d.Hash, d.Client, true)
	if h != nil { // it came by another way meanwhile
		return true, false, nil
	}
	s.used += int64(in.size) // reserved at the first chunk: there is room
	h = newHeld(in.chunks, d.Client)
	h.spare = in.spare && len(in.chunks) == 1
	s.parts[d.Hash] = h
	return true, dropped, nil
}

// begin makes room for a part of d.Size bytes that is about to arrive in chunks of transfer
// d.Transfer (see chunk), or says why there is none.
func (s *store) begin(d wire.DataOp) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.beginLocked(d)
	return err
}

func (s *store) beginLocked(d wire.DataOp) (*incoming, error) {
	key := d.Hash + "/" + d.Transfer
	s.abandonLocked(key)           // the sender began again
	for k, q := range s.incoming { // forget transfers abandoned by their sender
		if time.Since(q.started) > 10*time.Minute {
			s.abandonLocked(k)
		}
	}
	if err := s.reserveLocked(d.Size); err != nil {
		return nil, err
	}
	in := &incoming{size: d.Size, started: time.Now(), client: d.Client}
	s.incoming[key] = in
	return in, nil
}

// abandon forgets the part of transfer d.Transfer on its way in, and gives back its room.
func (s *store) abandon(d wire.DataOp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandonLocked(d.Hash + "/" + d.Transfer)
}

func (s *store) abandonLocked(key string) {
	if in := s.incoming[key]; in != nil {
		s.used -= int64(in.size)
		delete(s.incoming, key)
	}
}

// owners lists the clients the store keeps parts for.
func (s *store) owners() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var list []string
	for _, h := range s.parts {
		for c := range h.owners {
			if !seen[c] {
				seen[c] = true
				list = append(list, c)
			}
		}
	}
	return list
}

// gone notes whether client answered (alive) or not, and drops its hold on every part once
// it has not answered for after; it returns the parts it dropped.
func (s *store) gone(client string, alive bool, after time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if alive {
		delete(s.missing, client)
		return nil
	}
	since, ok := s.missing[client]
	if !ok {
		s.missing[client] = time.Now()
		return nil
	}
	if time.Since(since) < after {
		return nil
	}
	delete(s.missing, client)
	var dropped []string
	for hash, h := range s.parts {
		if h.owners[client] {
			delete(h.owners, client)
			if len(h.owners) == 0 {
				s.dropLocked(hash)
				dropped = append(dropped, hash)
			}
		}
	}
	return dropped
}

// onData answers the data messages of clients (see wire's data.go).
func (n *supervisor) onData(m *nats.Msg) {
	defer n.idle.used() // the memory of parts dropped goes once the node is idle
	fail := func(err error) { n.respond(m, wire.LoadReply{V: wire.Version, Err: wire.EncodeError(err)}) }
	d, err := wire.ReadData(m.Header, m.Data)
	if errors.Is(err, wire.ErrChecksum) {
		n.data.abandon(d) // damaged on the way: the client sends the part again
	}
	if err != nil {
		if m.Header.Get(wire.HdrOp) == "get" && m.Reply != "" {
			m.RespondMsg(wire.GetFailure(err))
			return
		}
		fail(err)
		return
	}
	switch d.Op {
	case "has":
		h, have := n.part(d.Hash, d.Client, true)
		if have {
			n.data.giveBack(h)
		}
		n.respond(m, wire.LoadReply{V: wire.Version, Have: have})
	case "chunk":
		done, dropped, err := n.data.chunk(d, m.Data)
		if dropped {
			n.dropped(d.Hash)
		}
		if err != nil {
			fail(err)
			return
		}
		n.respond(m, wire.LoadReply{V: wire.Version, Have: done})
		if done {
			n.publishStatus() // the clients see the bytes it holds
		}
	case "get":
		h, ok := n.part(d.Hash, d.Client, false)
		switch {
		case !ok:
			m.RespondMsg(wire.GetFailure(fmt.Errorf("%w: part %s is not on node %s", wire.ErrNoData, d.Hash[:12], n.o.settings.ID)))
		case d.Off+d.Length > h.size:
			m.RespondMsg(wire.GetFailure(fmt.Errorf("get of bytes %d…%d of a part of %d", d.Off, d.Off+d.Length, h.size)))
		default:
			m.Respond(h.bytes(d.Off, d.Length))
		}
		if ok {
			n.data.giveBack(h)
		}
	case "free":
		if n.data.free(d.Hash, d.Client) {
			n.dropParts([]string{d.Hash})
			n.publishStatus()
		}
		n.respond(m, wire.LoadReply{V: wire.Version})
	}
}

// collectEvery is how often a node asks whether the clients it keeps data for are still there.
const collectEvery = 5 * time.Second

// collect drops the data of clients that have gone (a session that ended without freeing it,
// or died): every collectEvery, it asks each client it keeps data for whether it is there, and
// drops its hold on its parts once it has not answered for the hub timeout (a client whose hub
// restarts takes up to that to come back).
func (n *supervisor) collect(done <-chan struct{}) {
	t := time.NewTicker(collectEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-n.lost:
			return
		case <-t.C:
		}
		for _, c := range n.data.owners() {
			_, err := n.nc.Request(wire.ClientSubject(c, "alive"), nil, time.Second)
			if err != nil && !errors.Is(err, nats.ErrNoResponders) {
				continue // the hub, not the client, may be away: no news
			}
			if dropped := n.data.gone(c, err == nil, wire.HubTimeout); len(dropped) > 0 {
				n.log.Printf("client %s has gone: dropped %d parts of its data", c, len(dropped))
				n.dropParts(dropped)
				n.publishStatus()
			}
		}
	}
}

// dataBatch is a batch that names data the node keeps, as the supervisor runs it.
type dataBatch struct {
	h    wire.BatchHeader
	outs [][]byte // with Keep, each call's array of that argument as the call got it
}

// dataBatch reads a batch that names data, and hands its worker the parts it names that the
// worker lacks (see giveParts). A part the node does not hold fails the whole message with
// ErrNoData: the client sends it again, and the calls with it.
func (n *supervisor) dataBatch(wp *workerProc, msg []byte) (*dataBatch, error) {
	h, _, bufs, err := wire.ReadBatch(msg)
	if err == nil {
		err = wire.CheckRefs(h)
	}
	if err != nil {
		return nil, err
	}
	var hashes []string
	for _, r := range h.Data {
		if r.Hash != "" && !slices.Contains(hashes, r.Hash) {
			hashes = append(hashes, r.Hash)
		}
	}
	if err := n.giveParts(wp, h.Client, hashes); err != nil {
		return nil, err
	}
	d := &dataBatch{h: h}
	if h.Keep != nil {
		d.outs = make([][]byte, h.N)
		for i, bs := range bufs {
			for _, b := range bs {
				if b.Arg == *h.Keep {
					d.outs[i] = b.Data
				}
			}
		}
		for _, r := range h.Data {
			if r.Arg == *h.Keep && r.Hash == "" {
				d.outs[r.I] = make([]byte, r.Zeros)
			}
		}
	}
	return d, nil
}

// giveParts hands the worker the parts it lacks of hashes (wire.FrameData), each once in the
// worker's life: a batch that names them then takes them from the worker's memory, and no part
// crosses the pipe twice. The worker keeps them until the node drops them (see dropParts).
func (n *supervisor) giveParts(wp *workerProc, client string, hashes []string) error {
	n.partsMu.Lock()
	defer n.partsMu.Unlock()
	for _, hash := range hashes {
		p, dropped := n.data.lend(hash, client, false)
		if dropped { // as dropped does, under partsMu
			n.log.Printf("part %.12s was not what its name says: dropped", hash)
			n.dropPartLocked(wp, hash)
			go n.publishStatus()
		}
		if p == nil {
			return fmt.Errorf("%w: part %s is not on node %s", wire.ErrNoData, hash[:12], n.o.settings.ID)
		}
		if n.inWorker[hash] {
			n.data.giveBack(p)
			continue
		}
		err := wp.fw.WritePieces(wire.FrameData, append([][]byte{[]byte(hash)}, p.chunks...))
		n.data.giveBack(p)
		if err != nil {
			return fmt.Errorf("%w: %v", wire.ErrNodeLost, err)
		}
		n.inWorker[hash] = true
	}
	return nil
}

// part is part hash for client, lent (see store.lend: the caller gives it back). A part dropped
// for not being what its name says leaves the worker too.
func (n *supervisor) part(hash, client string, own bool) (*held, bool) {
	h, dropped := n.data.lend(hash, client, own)
	if dropped {
		n.dropped(hash)
	}
	return h, h != nil
}

// dropped drops from the worker a part the store dropped for not being what its name says.
func (n *supervisor) dropped(hash string) {
	n.log.Printf("part %.12s was not what its name says: dropped", hash)
	n.dropParts([]string{hash})
	n.publishStatus()
}

// dropParts tells the worker to drop parts the node no longer keeps (wire.FrameFree).
func (n *supervisor) dropParts(hashes []string) {
	n.mu.Lock()
	wp := n.worker
	n.mu.Unlock()
	n.partsMu.Lock()
	defer n.partsMu.Unlock()
	for _, hash := range hashes {
		n.dropPartLocked(wp, hash)
	}
}

// dropPartLocked tells worker wp (nil for none) to drop part hash, if it has it. n.partsMu is
// held.
func (n *supervisor) dropPartLocked(wp *workerProc, hash string) {
	if n.inWorker[hash] {
		delete(n.inWorker, hash)
		if wp != nil {
			wp.fw.Write(wire.FrameFree, []byte(hash))
		}
	}
}

// dataAnswer is the worker's answer to a data batch as the client gets it: with Keep, the
// array each call left in that argument is kept as a part, named in the answer instead of sent;
// with Large, so is each array a call changed that is larger than that. (The worker passes parts
// read-only unless the batch says otherwise: what a call does to its copy of a part never comes
// back.)
func (n *supervisor) dataAnswer(d *dataBatch, answer []byte) []byte {
	h := d.h
	a, err := wire.ReadBatchAnswer(answer, h.N)
	if err != nil {
		return answer // a failure, said as the worker said it
	}
	failed := map[int]bool{}
	for _, e := range a.Errs {
		failed[e.I] = true
	}
	rep := a.BatchReplyHeader
	finished := make([]int64, h.N)
	changed := make([][]wasm.Buffer, h.N)
	// keep keeps out, call i's array of argument arg, as a part; added says h.Client did not
	// hold it before.
	keep := func(i, arg int, out []byte) (k wire.Kept, added bool, err error) {
		hash := wire.PartHash(out)
		if 2*len(out) < len(answer) { // kept alone, not with the rest of the answer
			out = bytes.Clone(out)
		}
		added, dropped, err := n.data.keep(hash, out, h.Client)
		if dropped {
			n.dropped(hash)
		}
		return wire.Kept{I: i, Arg: arg, Hash: hash, Size: len(out)}, added, err
	}
	var added []wire.Kept // arrays kept for h.Client alone, dropped again if their call fails
	for i := range h.N {
		finished[i] = a.Finished(i)
		var err error
		for _, b := range a.Buffers(i) {
			switch {
			case h.Keep != nil && b.Arg == *h.Keep:
			case h.Large > 0 && len(b.Data) > h.Large && !failed[i] && err == nil:
				k, fresh, kerr := keep(i, b.Arg, b.Data)
				if err = kerr; err == nil {
					rep.Large = append(rep.Large, k)
				}
				if fresh {
					added = append(added, k)
				}
			default:
				changed[i] = append(changed[i], b)
			}
		}
		if h.Keep != nil && !failed[i] && err == nil {
			out, ok := bufferOf(a.Buffers(i), *h.Keep)
			if !ok { // unchanged: as the call was given it
				out = d.outs[i]
			}
			k, _, kerr := keep(i, 0, out)
			if err = kerr; err == nil {
				rep.Kept = append(rep.Kept, k)
			}
		}
		if err != nil {
			rep.Errs = append(rep.Errs, wire.BatchError{I: i, Err: wire.EncodeError(err)})
			changed[i] = nil
			rep.Large = slices.DeleteFunc(rep.Large, func(k wire.Kept) bool { return k.I == i })
			for _, k := range added { // the call failed: none of its arrays stays
				if k.I == i && n.data.free(k.Hash, h.Client) {
					n.dropParts([]string{k.Hash})
				}
			}
		}
	}
	if len(rep.Kept)+len(rep.Large) > 0 {
		go n.publishStatus()
	}
	return wire.PackBatchAnswer(rep, finished, a.Values(), changed)
}

// bufferOf is the bytes of the buffer of argument arg in bufs.
func bufferOf(bufs []wasm.Buffer, arg int) ([]byte, bool) {
	for _, b := range bufs {
		if b.Arg == arg {
			return b.Data, true
		}
	}
	return nil, false
}
