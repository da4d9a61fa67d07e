package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// What a dashboard (package cluster/dashboard) watches besides the nodes' Status. Nothing here
// travels unless a dashboard has a page open: clients publish their Activity only while they
// hear a Watch.
//
//	rain.dash.watch     dashboard → clients: Watch, every WatchEvery while a page is open,
//	                    at once on a hello, and with Off when its last page closes
//	rain.dash.hello     client → dashboards: empty, when it connects (a new session's first
//	                    calls are watched at once, not from the next Watch)
//	rain.dash.activity  client → dashboards: Activity, every ActivityEvery while watched
//	rain.dash.info      anyone → dashboards: empty; reply DashInfo
const (
	SubjWatch    = "rain.dash.watch"
	SubjHello    = "rain.dash.hello"
	SubjActivity = "rain.dash.activity"
	SubjDashInfo = "rain.dash.info"
)

// Timing of the dashboard's messages.
const (
	// WatchEvery is how often a dashboard with a page open says so. A client publishes its
	// activity until WatchFor has passed since the last Watch it heard.
	WatchEvery = time.Second
	WatchFor   = 3 * WatchEvery
	// ActivityEvery is how often a watched client publishes its Activity: 4 times a second.
	ActivityEvery = 250 * time.Millisecond
)

// Watch says that a dashboard has a page open, or, with Off, that its last page closed: a
// client stops telling once no dashboard watches.
type Watch struct {
	V   int    `json:"v"`
	ID  string `json:"id"` // the dashboard's: several may watch one hub
	Off bool   `json:"off,omitempty"`
}

// DashInfo is a dashboard's answer to rain.dash.info: where its page is, with its access token.
type DashInfo struct {
	V   int    `json:"v"`
	URL string `json:"url"`
}

// Activity is what a client (a session) does, as it tells a watching dashboard: its maps, the
// spans of its calls since its last Activity (merged: never one per call), its modules' names.
type Activity struct {
	V       int         `json:"v"`
	Client  string      `json:"client"` // the client's ID: task IDs start with it
	Name    string      `json:"name"`   // the session, for people: "ann@laptop pid 4242"
	Seq     uint64      `json:"seq"`    // counts the client's Activity messages
	Sent    int64       `json:"sent"`   // Unix ns, client clock
	Modules []ModuleTag `json:"modules,omitempty"`
	Maps    []MapState  `json:"maps,omitempty"`
	Spans   []Span      `json:"spans,omitempty"`
	Dropped int         `json:"dropped,omitempty"` // spans left out since the last Activity
}

// ModuleTag names a module the client loaded.
type ModuleTag struct {
	SHA  string `json:"sha"`
	Name string `json:"name"`
	Size int    `json:"size"`
}

// States of a MapState.
const (
	MapRunning     = "running"
	MapDone        = "done"
	MapInterrupted = "interrupted"
	MapFailed      = "failed" // the map ended with an error (tasks that trapped do not count)
)

// MapState is one map of a client: running, or ended a moment ago.
type MapState struct {
	ID      uint64 `json:"id"` // the client's count of its maps
	Module  string `json:"module"`
	Func    string `json:"func"`
	State   string `json:"state"`
	Total   int    `json:"total"`
	Done    int    `json:"done"`
	Failed  int    `json:"failed,omitempty"`
	Retried int    `json:"retried,omitempty"`
	Stolen  int    `json:"stolen,omitempty"`
	Nodes   int    `json:"nodes"`           // nodes that took work so far
	Chunks  int    `json:"chunks"`          // chunks handed out so far
	Chunk   int    `json:"chunk"`           // the chunk size asked for, or the last one auto-grain chose
	Auto    bool   `json:"auto,omitempty"`  // chunks sized by auto-grain
	Why     string `json:"why,omitempty"`   // how the chunk size was chosen
	Began   int64  `json:"began"`           // Unix ns, client clock
	Elapsed int64  `json:"elapsed"`         // ns
	Err     string `json:"err,omitempty"`   // why it failed
	Calls   bool   `json:"calls,omitempty"` // not a map: a CallBatch
}

// Kinds of a Span.
const (
	SpanOK    = 0 // calls that returned
	SpanTrap  = 1 // a call that trapped
	SpanRerun = 2 // calls of a map run again (after a trap or a lost node)
	SpanLost  = 3 // calls whose node died under them
)

// Span is a run of calls of one function on one node, back to back (each starting within a
// merge gap of the end of the one before), on the node's clock.
type Span struct {
	Node   string `json:"node"`
	Module string `json:"module"`
	Func   string `json:"func"`
	Map    uint64 `json:"map,omitempty"` // the client's map ID; 0 for calls outside a map
	Start  int64  `json:"s"`             // Unix ns, node clock
	End    int64  `json:"e"`
	N      int    `json:"n"` // calls in it
	Kind   int    `json:"k,omitempty"`
}

// DecodeActivity reads an Activity of this wire version.
func DecodeActivity(b []byte) (Activity, error) {
	var a Activity
	if err := json.Unmarshal(b, &a); err != nil {
		return a, err
	}
	if err := CheckVersion(a.V); err != nil {
		return a, err
	}
	if a.Client == "" {
		return a, fmt.Errorf("cluster: activity without a client ID")
	}
	return a, nil
}
