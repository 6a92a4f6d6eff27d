// Package bench is the load tool behind "sandbox bench": it measures what
// a DM costs the server and how fast the server goes, with workloads that
// are each one flag away:
//
//   - pairs: N sender/recipient pairs send DMs at a stepped offered rate,
//     on one instance or across two over Redis ("cross"). Per step: rate
//     achieved, send→ack, send→delivered and full-cycle latencies, errors,
//     and the server's CPU per DM;
//   - idle: N authenticated sockets doing nothing: server memory per
//     socket and CPU while idle;
//   - replay: one recipient with K pending messages reconnects: time to
//     REPLAY_DONE;
//   - storm: N clients with pending messages reconnect at once;
//   - hostile: pairs at a steady rate while attackers (sockets that never
//     read, slowloris, idle keep-alives, a send flood, a login storm,
//     repeat acks, a history flood) run one kind at a time and then all at
//     once, against a server with its default limits: per phase, the
//     server's peak RSS, fds and goroutines and the legitimate latency,
//     losses and login time.
//
// The load is open-loop: every send has a due time on a fixed schedule and
// latencies are measured from that due time, not from when the tool got to
// write it, so a stalled server cannot hide its delay by slowing the tool
// down (coordinated omission). Latencies go into HDR histograms
// (github.com/HdrHistogram/hdrhistogram-go).
//
// By default the servers run in a child process the tool starts (the same
// binary's hidden "bench _server" subcommand, which calls Serve), so the
// server's CPU time (/proc and getrusage) and memory are its own and not
// the tool's. Options.Targets points the tool at running servers instead.
// The hostile workload's attackers likewise run in a child of their own
// ("bench _attack", Options.ChildArgv), so their work does not share the
// runtime of the process that times the legitimate clients.
//
// The tool is meant not to be the bottleneck: it speaks WebSocket with its
// own small client (wsConn) that reads into reused buffers, finds the few
// fields it needs without a JSON decoder, and writes every frame that is
// due, or every delivery ack that is ready, in one system call. Each step
// reports the tool's own CPU and lateness, and the report says when the
// tool limited a figure.
//
//	rep, err := bench.Run(ctx, bench.Options{Short: true, ServerArgv: []string{exe, "bench", "_server"}})
//	_ = rep.WriteTable(os.Stdout)
package bench
