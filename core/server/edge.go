package server

import (
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/netlimit"
)

// Timeouts bound how long one client may hold a connection. Zero fields
// mean the defaults (the Default* constants).
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (slowloris).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included, so a body that is
	// never finished does not hold the connection.
	Read time.Duration
	// Write bounds a response from the end of its headers. WebSockets are
	// not bound by Read and Write: net/http clears a connection's deadlines
	// when it is hijacked, which the upgrade does.
	Write time.Duration
	// Idle bounds a keep-alive connection waiting for its next request.
	Idle time.Duration
}

// Defaults of Timeouts and the header size cap.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	// MaxHeaderBytes caps a request's headers; the API's are small.
	MaxHeaderBytes = 64 << 10
)

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ReadHeader, DefaultReadHeaderTimeout)
	def(&t.Read, DefaultReadTimeout)
	def(&t.Write, DefaultWriteTimeout)
	def(&t.Idle, DefaultIdleTimeout)
	return t
}

// newHTTPServer builds the bounded http.Server of an instance.
func (s *Server) newHTTPServer(h http.Handler, t Timeouts) *http.Server {
	t = t.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.New(newHTTPErrorWriter(s.log.Named("HTTP")), "", 0),
	}
}

// limitListener applies MAX_CONNECTIONS and MAX_CONNECTIONS_PER_IP; a
// peer in TRUSTED_PROXIES carries many clients, so only MAX_CONNECTIONS
// bounds it. A refused connection is not logged: one hostile client would
// otherwise write a line per attempt.
func (s *Server) limitListener(l net.Listener) net.Listener {
	trusted := s.cfg.TrustedProxies
	return netlimit.Listen(l, netlimit.Options{
		MaxConnections: s.cfg.MaxConnections,
		MaxPerIP:       s.cfg.MaxConnectionsPerIP,
		Exempt: func(a netip.Addr) bool {
			for _, p := range trusted {
				if p.Contains(a) {
					return true
				}
			}
			return false
		},
	})
}

// The bound on http_server_error lines: a burst, then one per second.
// Clients can cause them (a request that makes a handler panic logs its
// stack, a failed TLS handshake where the server terminates TLS: one line
// per request or connection), so one hostile client could otherwise grow
// the log at its request rate.
const (
	httpErrorBurst = 10
	httpErrorEvery = 1 // lines per second after the burst
)

// httpErrorWriter turns net/http's own error lines (TLS handshake
// failures, panics, accept errors) into "HTTP" http_server_error events
// with the text as detail: the production log stays one JSON object per
// line, and its message stays an event name like every other line's.
type httpErrorWriter struct{ lines *logging.Bounded }

func newHTTPErrorWriter(log *zap.Logger) httpErrorWriter {
	return httpErrorWriter{logging.NewBounded(log, zapcore.WarnLevel, "http_server_error", httpErrorEvery, httpErrorBurst)}
}

func (w httpErrorWriter) Write(p []byte) (int, error) {
	w.lines.Log(zap.String("detail", strings.TrimSpace(string(p))))
	return len(p), nil
}
