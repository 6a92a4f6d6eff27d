package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/zap"
)

// pprofServer serves net/http/pprof on its own loopback listener
// (Config.PprofAddr, PPROF_ADDR), apart from the public API: profiles are
// never reachable through the server's own port. Its mux is its own, not
// http.DefaultServeMux.
type pprofServer struct {
	http *http.Server
	addr string
	done chan struct{}
}

// startPprof listens on addr and serves the profiles in the background.
// An empty addr starts nothing and returns nil. config.Load has already
// refused any address that is not loopback.
func startPprof(addr string, log *zap.Logger) (*pprofServer, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: failed to listen for pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := &pprofServer{
		// No write timeout: a CPU profile or trace streams for as long as
		// it was asked for.
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		addr: l.Addr().String(),
		done: make(chan struct{}),
	}
	log.Info("pprof_listening", zap.String("addr", p.addr))
	go func() {
		defer close(p.done)
		if err := p.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof_serve_failed", zap.Error(err))
		}
	}()
	return p, nil
}

// Addr is the address the profiles are served on.
func (p *pprofServer) Addr() string { return p.addr }

// stop closes the listener and any profile in progress; nil does nothing.
func (p *pprofServer) stop() {
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.http.Shutdown(ctx); err != nil {
		_ = p.http.Close()
	}
	<-p.done
}
