// Package dashboard serves a live page of a Rain cluster in the browser: its nodes, a task
// stream (a Gantt chart of the last seconds, a row per node), every session's maps with their
// progress, and the modules and the data each node holds.
//
// A dashboard is a watcher of the hub, not a stop on the way of a call: it subscribes to the
// nodes' status (which they publish anyway, twice a second) and, while a page is open, says so
// (wire.Watch, once a second); every client that hears it publishes its Activity 4 times a
// second — its maps' progress, and the spans of its calls merged per node — until it has not
// heard a Watch for 3 s. With no page open, clients publish nothing and a call costs one
// atomic load more. The dashboard merges what it hears into one view and sends it to each page
// over server-sent events 4 times a second: a page receives one message per tick, never one
// per task, however many tasks run (spans are merged further, and bounded per node and per
// tick, when there are many).
//
// Watch serves the dashboard of a hub in this process (`rain hub`, or a session's own hub),
// connected to it in-process; WatchURL that of any NATS server or cluster Rain's nodes and
// sessions meet on. The page needs a token: the cluster's token by default, or a random one
// for a NATS server without one, given in the URL (?token=…) as Jupyter does, then kept in a
// cookie; without it every address answers 403 with a one-line page. It listens on loopback
// unless told otherwise (WithAddr).
//
// Addresses: / the page; /events the server-sent events; /api/state the same view as one
// JSON document (with the task stream's spans of the last minute), for scripts and tests.
package dashboard
