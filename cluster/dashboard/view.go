package dashboard

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// view is what a page receives at each tick besides the task stream's spans. Times are Unix
// milliseconds; durations are milliseconds unless named otherwise.
type view struct {
	Now      int64         `json:"now"`
	Hub      string        `json:"hub"`
	Started  int64         `json:"started"`
	Watchers int           `json:"watchers"` // pages open
	Window   int64         `json:"window"`   // the task stream's history the dashboard keeps
	Dropped  int           `json:"dropped"`  // calls left out of the task stream so far
	Nodes    []nodeJSON    `json:"nodes"`
	Sessions []sessionJSON `json:"sessions"`
	Maps     []mapJSON     `json:"maps"`
	Modules  []moduleJSON  `json:"modules"`
	Events   []event       `json:"events"`
}

type nodeJSON struct {
	ID        string     `json:"id"`
	Host      string     `json:"host"`
	OS        string     `json:"os"`
	Arch      string     `json:"arch"`
	Cores     int        `json:"cores"`
	Engine    string     `json:"engine"`
	Up        bool       `json:"up"`
	Joined    int64      `json:"joined"`
	Queued    int        `json:"queued"` // calls queued or running on it
	Done      int        `json:"done"`
	Rate      float64    `json:"rate"`  // calls per second
	Share     float64    `json:"share"` // busy share, 0…1
	RSS       int64      `json:"rss"`   // bytes
	Instances int        `json:"instances"`
	Data      []dataJSON `json:"data"`       // the data it holds (see cluster.Client.Scatter): the largest parts
	DataBytes int64      `json:"data_bytes"` // all of it
	Parts     int        `json:"parts"`
	RTT       float64    `json:"rtt_us"` // -1 until measured
	Restarts  int        `json:"restarts"`
	PID       int        `json:"pid"`
	Modules   []tierJSON `json:"modules"`
}

// dataJSON is a part of data a node holds, by content hash: a part of an array a session
// scattered, or a map's output it kept there.
type dataJSON struct {
	Hash string   `json:"hash"`
	Size int64    `json:"size"`
	For  []string `json:"for"` // the sessions it is kept for, by name (or ID, before one is heard)
}

type tierJSON struct {
	SHA   string `json:"sha"`
	Name  string `json:"name"`
	State string `json:"state"` // interpreter, compiling, compiled
	Cache bool   `json:"cache,omitempty"`
	Err   string `json:"err,omitempty"`
}

type sessionJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Joined  int64  `json:"joined"`
	Running int    `json:"running"` // maps
	Modules int    `json:"modules"`
	Dropped int    `json:"dropped"`
}

type mapJSON struct {
	Key     string  `json:"key"` // session/ID
	Session string  `json:"session"`
	Name    string  `json:"name"` // the session's name
	Func    string  `json:"func"` // module.function
	State   string  `json:"state"`
	Total   int     `json:"total"`
	Done    int     `json:"done"`
	Failed  int     `json:"failed"`
	Retried int     `json:"retried"`
	Stolen  int     `json:"stolen"`
	Nodes   int     `json:"nodes"`
	Chunks  int     `json:"chunks"`
	Chunk   int     `json:"chunk"`
	Auto    bool    `json:"auto"`
	Why     string  `json:"why"`
	Began   int64   `json:"began"`
	Elapsed int64   `json:"elapsed"`
	Rate    float64 `json:"rate"` // calls per second
	ETA     float64 `json:"eta"`  // seconds; -1 unknown
	Err     string  `json:"err,omitempty"`
}

type moduleJSON struct {
	SHA   string            `json:"sha"`
	Name  string            `json:"name"`
	Size  int               `json:"size"`
	Nodes map[string]string `json:"nodes"` // node ID → tier state
}

// moduleLocked is a module's name, as a session named it, or the start of its SHA-256.
func (s *state) moduleLocked(sha string) string {
	if name := s.names[sha]; name != "" {
		return name
	}
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// viewLocked builds the view's JSON.
func (s *state) viewLocked(now time.Time) []byte {
	v := view{Now: now.UnixMilli(), Hub: s.hub, Started: s.started.UnixMilli(), Watchers: s.watchers,
		Window: window.Milliseconds(), Dropped: s.dropped,
		Nodes: []nodeJSON{}, Sessions: []sessionJSON{}, Maps: []mapJSON{}, Modules: []moduleJSON{}, Events: s.events}
	if v.Events == nil {
		v.Events = []event{}
	}
	mods := map[string]*moduleJSON{}
	module := func(sha string) *moduleJSON {
		m := mods[sha]
		if m == nil {
			m = &moduleJSON{SHA: sha, Name: s.moduleLocked(sha), Size: s.sizes[sha], Nodes: map[string]string{}}
			mods[sha] = m
		}
		return m
	}
	for id, n := range s.nodes {
		st := n.st
		j := nodeJSON{ID: id, Host: st.Host, OS: st.OS, Arch: st.Arch, Cores: st.Cores, Engine: st.Engine,
			Up: !n.lost, Joined: n.joined.UnixMilli(), Queued: st.Busy, Done: st.Done, Rate: n.rate, Share: n.share,
			RSS: st.RSS, Instances: len(st.Modules), Data: []dataJSON{}, DataBytes: st.Data, Parts: st.Parts, RTT: -1, Restarts: st.Restarts, PID: st.PID,
			Modules: []tierJSON{}}
		for _, h := range st.Held {
			d := dataJSON{Hash: h.Hash, Size: h.Size, For: []string{}}
			for _, c := range h.Owners {
				if ss := s.sessions[c]; ss != nil {
					c = ss.name
				}
				d.For = append(d.For, c)
			}
			j.Data = append(j.Data, d)
		}
		if n.rtt >= 0 {
			j.RTT = float64(n.rtt.Nanoseconds()) / 1e3
		}
		tiers := map[string]wire.Tier{}
		for _, t := range st.Tiers {
			tiers[t.SHA] = t
		}
		for _, sha := range st.Modules {
			t := tierJSON{SHA: sha, Name: s.moduleLocked(sha), State: tiers[sha].State, Cache: tiers[sha].Cache, Err: tiers[sha].Err}
			j.Modules = append(j.Modules, t)
			if !n.lost {
				module(sha).Nodes[id] = t.State
			}
		}
		v.Nodes = append(v.Nodes, j)
	}
	sort.Slice(v.Nodes, func(i, j int) bool { return v.Nodes[i].ID < v.Nodes[j].ID })
	for _, ss := range s.sessions {
		v.Sessions = append(v.Sessions, sessionJSON{ID: ss.id, Name: ss.name, Joined: ss.joined.UnixMilli(),
			Running: len(ss.maps), Modules: len(ss.modules), Dropped: ss.dropped})
		for _, mv := range ss.maps {
			v.Maps = append(v.Maps, s.mapJSONLocked(mv))
		}
		for _, m := range ss.modules {
			module(m.SHA)
		}
	}
	sort.Slice(v.Sessions, func(i, j int) bool { return v.Sessions[i].Joined < v.Sessions[j].Joined })
	for i := len(s.ended) - 1; i >= 0; i-- {
		v.Maps = append(v.Maps, s.mapJSONLocked(s.ended[i]))
	}
	sort.SliceStable(v.Maps, func(i, j int) bool {
		a, b := v.Maps[i], v.Maps[j]
		if (a.State == wire.MapRunning) != (b.State == wire.MapRunning) {
			return a.State == wire.MapRunning
		}
		return a.Began > b.Began
	})
	for _, m := range mods {
		v.Modules = append(v.Modules, *m)
	}
	sort.Slice(v.Modules, func(i, j int) bool {
		if v.Modules[i].Name != v.Modules[j].Name {
			return v.Modules[i].Name < v.Modules[j].Name
		}
		return v.Modules[i].SHA < v.Modules[j].SHA
	})
	b, _ := json.Marshal(v)
	return b
}

func (s *state) mapJSONLocked(mv *mapView) mapJSON {
	m := mv.st
	j := mapJSON{Key: mv.session + "/" + strconv.FormatUint(m.ID, 10), Session: mv.session, Name: mv.name,
		Func: s.moduleLocked(m.Module) + "." + m.Func, State: m.State, Total: m.Total, Done: m.Done, Failed: m.Failed,
		Retried: m.Retried, Stolen: m.Stolen, Nodes: m.Nodes, Chunks: m.Chunks, Chunk: m.Chunk, Auto: m.Auto, Why: m.Why,
		Began: m.Began / 1e6, Elapsed: m.Elapsed / 1e6, Rate: mv.rate, ETA: -1, Err: m.Err}
	if m.State == wire.MapRunning && mv.rate > 0 {
		j.ETA = float64(m.Total-m.Done) / mv.rate
	}
	if m.State != wire.MapRunning {
		j.ETA = 0
	}
	return j
}
