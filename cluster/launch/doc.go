// Package launch starts Rain's nodes where they are to run: processes on this machine
// (Local), and jobs (Start) through Slurm, MPI, SSH or local processes. A launcher knows how to
// start a node, not how a node runs: it takes the nodes' node.Settings and renders their command
// line with node.Command, so that a `rain node` flag is spelled only where it is parsed. The
// nodes join the hub whose URL it is given, with the hub's token in their environment (or, over
// SSH, on the session's stdin), never on a command line; a client (cluster.Client.WaitNodes)
// sees them when they are ready.
//
// # Jobs
//
// A Request is what a user asks for — "slurm 16 --partition short", "ssh h1,h2 --per-host 4"
// — as `%cluster launch` and `rain launch` take it (ParseRequest). Start carries it out and
// returns a Job: its nodes are Name-0, Name-1, … on the hub, its Status follows the scheduler
// (pending with Slurm's reason, running, done, failed with the end of its output), and Stop ends
// it. A job ends with the process that started it, however that process ends: a Slurm job is
// cancelled by a guard process that outlives it, mpirun and ssh get a signal when their parent
// dies (and so do mpirun's ranks), and local nodes die with it.
//
// Nodes find rain on their machines: at the request's Rain path; else at this machine's binary
// path when they see it there (a shared file system); else on their PATH; and over SSH, when a
// host has none, a copy of the binary for its OS and architecture (this one, or one of `make
// release`) in the host's cache folder.
package launch
