package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// serverSide is the server of a benchmark as the tool sees it: where to
// connect, and how to read its CPU and memory.
type serverSide interface {
	// Info describes the instances.
	Info() Ready
	// Stats snapshots the server process; gc asks for a full GC first.
	// ok is false when the server cannot be measured (--target without
	// --server-pid).
	Stats(ctx context.Context, gc bool) (s ServerStats, ok bool, err error)
	// Separate reports whether the server runs in a process of its own, so
	// its CPU is its own and not shared with the load tool.
	Separate() bool
	// Close stops what the tool started.
	Close() error
}

// pipeServer talks the Serve protocol over a pipe: to a child process, or
// to Serve running in a goroutine of this process.
type pipeServer struct {
	ready    Ready
	separate bool

	// mu serialises requests: one command line, then one answer line.
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader

	close func() error
}

var _ serverSide = (*pipeServer)(nil)

func (p *pipeServer) Info() Ready    { return p.ready }
func (p *pipeServer) Separate() bool { return p.separate }
func (p *pipeServer) Close() error   { return p.close() }

func (p *pipeServer) Stats(ctx context.Context, gc bool) (ServerStats, bool, error) {
	cmd := "stats\n"
	if gc {
		cmd = "gcstats\n"
	}
	type answer struct {
		s   ServerStats
		err error
	}
	done := make(chan answer, 1)
	go func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, err := io.WriteString(p.in, cmd); err != nil {
			done <- answer{err: fmt.Errorf("bench: failed to ask the server for stats: %w", err)}
			return
		}
		line, err := p.out.ReadBytes('\n')
		if err != nil {
			done <- answer{err: fmt.Errorf("bench: failed to read server stats: %w", err)}
			return
		}
		var s ServerStats
		if err := json.Unmarshal(line, &s); err != nil {
			done <- answer{err: fmt.Errorf("bench: failed to decode server stats: %w", err)}
			return
		}
		done <- answer{s: s}
	}()
	select {
	case a := <-done:
		return a.s, a.err == nil, a.err
	case <-ctx.Done():
		return ServerStats{}, false, ctx.Err()
	}
}

// readReady reads the Ready line.
func readReady(ctx context.Context, out *bufio.Reader) (Ready, error) {
	type answer struct {
		r   Ready
		err error
	}
	done := make(chan answer, 1)
	go func() {
		line, err := out.ReadBytes('\n')
		if err != nil {
			done <- answer{err: fmt.Errorf("bench: the server did not start: %w", err)}
			return
		}
		var r Ready
		if err := json.Unmarshal(line, &r); err != nil {
			done <- answer{err: fmt.Errorf("bench: failed to decode the server's ready line %q: %w", bytes.TrimSpace(line), err)}
			return
		}
		done <- answer{r: r}
	}()
	select {
	case a := <-done:
		return a.r, a.err
	case <-ctx.Done():
		return Ready{}, ctx.Err()
	}
}

// spawnServer starts argv (the same binary's hidden server subcommand,
// given the ServerOptions as flags) as a child process and waits for it to
// listen. The child's standard error goes to stderr.
func spawnServer(ctx context.Context, argv []string, stderr io.Writer) (*pipeServer, error) {
	if len(argv) == 0 {
		return nil, errors.New("bench: no server command")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: failed to start the server process: %w", err)
	}
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	stop := func() error {
		_ = in.Close() // EOF: the child shuts down
		select {
		case err := <-waitDone:
			return err
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			return <-waitDone
		}
	}
	out := bufio.NewReader(outR)
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ready, err := readReady(rctx, out)
	if err != nil {
		_ = cmd.Process.Kill()
		<-waitDone
		return nil, err
	}
	return &pipeServer{ready: ready, separate: true, in: in, out: out, close: stop}, nil
}

// startInProcess runs Serve in this process, talking to it over pipes.
func startInProcess(ctx context.Context, o ServerOptions) (*pipeServer, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := Serve(sctx, o, inR, outW)
		_ = outW.CloseWithError(errors.Join(err, io.EOF))
		done <- err
	}()
	out := bufio.NewReader(outR)
	ready, err := readReady(ctx, out)
	if err != nil {
		cancel()
		_ = inW.Close()
		<-done
		return nil, err
	}
	return &pipeServer{ready: ready, separate: false, in: inW, out: out, close: func() error {
		_ = inW.Close()
		err := <-done
		cancel()
		return err
	}}, nil
}

// targetServer is servers the tool did not start (--target). Their CPU and
// memory are read from /proc when a pid is given.
type targetServer struct {
	ready Ready
	pid   int
}

var _ serverSide = (*targetServer)(nil)

func (t *targetServer) Info() Ready    { return t.ready }
func (t *targetServer) Separate() bool { return t.pid != os.Getpid() }
func (t *targetServer) Close() error   { return nil }

func (t *targetServer) Stats(context.Context, bool) (ServerStats, bool, error) {
	if t.pid <= 0 {
		return ServerStats{}, false, nil
	}
	cpu, err := ProcCPU(t.pid)
	if err != nil {
		return ServerStats{}, false, err
	}
	rss, err := ProcRSS(t.pid)
	if err != nil {
		return ServerStats{}, false, err
	}
	return ServerStats{CPU: cpu, RSS: rss, FDs: ProcFDs(t.pid), Goroutines: -1}, true, nil
}
