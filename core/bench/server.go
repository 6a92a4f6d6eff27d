package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/zap/zapcore"
	"golang.org/x/crypto/bcrypt"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/server"
	"github.com/dmchat/dmchat/core/store"
)

// Redis choices of ServerOptions.Redis.
const (
	RedisAuto        = "auto"         // redis-server if found, else miniredis (only with 2+ instances)
	RedisMiniredis   = "miniredis"    // the embedded Go Redis
	RedisServerBin   = "redis-server" // a real redis-server, started for the run
	redisServerEnv   = "DMCHAT_REDIS_SERVER"
	defaultBenchRate = 1e6
)

// ServerOptions configure the server side of a benchmark: the instances
// Serve starts. The zero value means one instance on SQLite
// (synchronous=FULL) in a new temporary directory, production JSON logs to a
// file in that directory, bcrypt at its minimum cost and the per-connection
// rate limit raised out of the way.
type ServerOptions struct {
	// Instances is how many instances to run; 0 means 1. With more than one
	// they share one store and a Redis bus.
	Instances int
	// DB is the DB_URI; "" means "sqlite:DIR/bench.db".
	DB string
	// Redis is RedisAuto (""), RedisMiniredis, RedisServerBin or a
	// redis:// URL. It is used only with 2+ instances.
	Redis string
	// Dir holds the database and the log; "" means a new temporary
	// directory, removed when Serve returns.
	Dir string
	// LogFile receives the production JSON logs of every instance; ""
	// means DIR/server.log; "discard" means io.Discard.
	LogFile string
	// PprofAddr, when set, serves net/http/pprof for the first instance
	// (PPROF_ADDR, loopback only).
	PprofAddr string
	// Rate and Burst are WS_RATE and WS_BURST; 0 means 1e6 (the contract's
	// default of 20 frames/s would throttle every workload).
	Rate  float64
	Burst int
	// BcryptCost is the password hashing cost; 0 means bcrypt.MinCost, so
	// setting up thousands of users is quick.
	BcryptCost int
	// ProductionLimits runs the instances with the server's own defaults
	// for every limit (WS_RATE, WS_BURST, the per-address login limit and
	// any other limit left to its default) instead of raising them out of
	// the way: the hostile workload measures the defences, so it sets it.
	// Rate and Burst are then ignored.
	ProductionLimits bool
}

// Ready is what Serve reports once every instance listens.
type Ready struct {
	PID       int      `json:"pid"`
	URLs      []string `json:"urls"`
	WSPath    string   `json:"wsPath"`
	DB        string   `json:"db"`
	Dir       string   `json:"dir"`
	Redis     string   `json:"redis"` // "", "miniredis", "redis-server VERSION"
	RedisPID  int      `json:"redisPid,omitempty"`
	LogFile   string   `json:"logFile"`
	Rate      float64  `json:"wsRate"`
	Burst     int      `json:"wsBurst"`
	Bcrypt    int      `json:"bcryptCost"`
	GoVersion string   `json:"goVersion"`
	MaxProcs  int      `json:"gomaxprocs"`
	FileLimit uint64   `json:"fileLimit"`
	PprofAddr string   `json:"pprofAddr,omitempty"`
}

// ServerStats is a snapshot of the server process.
type ServerStats struct {
	CPU        time.Duration `json:"cpuNs"` // user+system since start, µs resolution
	RSS        int64         `json:"rss"`
	HeapInuse  uint64        `json:"heapInuse"`
	HeapAlloc  uint64        `json:"heapAlloc"`
	StackInuse uint64        `json:"stackInuse"`
	Sys        uint64        `json:"sys"`
	Goroutines int           `json:"goroutines"`
	NumGC      uint32        `json:"numGC"`
	Sockets    int           `json:"sockets"`
	FDs        int           `json:"openFds"` // -1 when not readable
}

// Serve runs the benchmark's server side until in reaches EOF or ctx ends.
// It writes one JSON Ready line to out once listening, then answers each
// command line read from in with one JSON line: "stats" (a ServerStats),
// "gcstats" (the same after a full GC and returning freed memory to the OS).
// It is what "sandbox bench _server" runs in the child process, and what
// the tool runs in-process with --inprocess.
func Serve(ctx context.Context, o ServerOptions, in io.Reader, out io.Writer) (err error) {
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.Rate <= 0 {
		o.Rate = defaultBenchRate
	}
	if o.Burst <= 0 {
		o.Burst = int(defaultBenchRate)
	}
	authRate, authBurst := 1e6, 1<<20
	if o.ProductionLimits {
		authRate, authBurst = 0, 0 // httpapi's defaults
	}
	if o.BcryptCost <= 0 {
		o.BcryptCost = bcrypt.MinCost
	}
	fileLimit := RaiseFileLimit(1 << 18)
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "dmchat-bench-")
		if err != nil {
			return fmt.Errorf("bench: failed to create temporary directory: %w", err)
		}
		defer os.RemoveAll(dir)
		o.Dir = dir
	} else if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("bench: failed to create directory: %w", err)
	}
	if o.DB == "" {
		o.DB = "sqlite:" + filepath.Join(o.Dir, "bench.db")
	}
	ready := Ready{PID: os.Getpid(), WSPath: "/ws", DB: redactDB(o.DB), Dir: o.Dir, Rate: o.Rate, Burst: o.Burst,
		Bcrypt: o.BcryptCost, GoVersion: runtime.Version(), MaxProcs: runtime.GOMAXPROCS(0), FileLimit: fileLimit,
		PprofAddr: o.PprofAddr}

	var logOut zapcore.WriteSyncer
	switch o.LogFile {
	case "discard":
		logOut = zapcore.AddSync(io.Discard)
		ready.LogFile = "discard"
	default:
		path := o.LogFile
		if path == "" {
			path = filepath.Join(o.Dir, "server.log")
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("bench: failed to open log file: %w", err)
		}
		defer f.Close()
		logOut = zapcore.Lock(f)
		ready.LogFile = path
	}

	st, err := store.Open(ctx, o.DB, store.Options{})
	if err != nil {
		return fmt.Errorf("bench: failed to open store: %w", err)
	}
	defer st.Close()

	redisURL := ""
	if o.Instances > 1 {
		r, err := startRedis(o.Redis, o.Dir)
		if err != nil {
			return err
		}
		defer r.stop()
		redisURL, ready.Redis, ready.RedisPID = r.url, r.kind, r.pid
	}

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	var srvs []*server.Server
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range srvs {
			_ = s.Shutdown(sctx)
		}
	}()
	for i := range o.Instances {
		env := map[string]string{
			"APP_ENV": "production", "PORT": "1", "JWT_SECRET": hex.EncodeToString(secret), "DB_URI": o.DB,
			"INSTANCE_ID": "bench-" + string(rune('A'+i)), "COOKIE_DOMAIN": "localhost", "CORS_ORIGIN": "http://localhost",
			"WS_PATH": ready.WSPath, "METRICS_MODE": "open", "ALLOW_PUBLIC_METRICS_IN_PROD": "true",
			"WS_RATE": strconv.FormatFloat(o.Rate, 'f', -1, 64), "WS_BURST": strconv.Itoa(o.Burst),
			"REDIS_URL": redisURL, "REDIS_INIT_TIMEOUT": "5s",
			// Every load client dials from 127.0.0.1 (20000 idle sockets by
			// default), so the connection caps must not count them as one
			// hostile address.
			"MAX_CONNECTIONS": "1000000", "MAX_CONNECTIONS_PER_IP": "1000000",
		}
		if i == 0 {
			env["PPROF_ADDR"] = o.PprofAddr
		}
		if o.ProductionLimits {
			delete(env, "WS_RATE")
			delete(env, "WS_BURST")
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			return fmt.Errorf("bench: failed to configure instance: %w", err)
		}
		ready.Rate, ready.Burst = cfg.WSRate, cfg.WSBurst
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("bench: failed to listen: %w", err)
		}
		s, err := server.New(ctx, server.Options{
			Config: cfg, Store: st, LogOutput: logOut, Listener: l,
			Hasher: auth.Hasher{Cost: o.BcryptCost}, AuthRate: authRate, AuthBurst: authBurst,
		})
		if err != nil {
			_ = l.Close()
			return fmt.Errorf("bench: failed to build instance: %w", err)
		}
		if err := s.Start(ctx); err != nil {
			_ = l.Close()
			return fmt.Errorf("bench: failed to start instance: %w", err)
		}
		srvs = append(srvs, s)
		ready.URLs = append(ready.URLs, s.URL())
	}

	enc := json.NewEncoder(out)
	if err := enc.Encode(ready); err != nil {
		return fmt.Errorf("bench: failed to report readiness: %w", err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			switch strings.TrimSpace(line) {
			case "stats":
				err = enc.Encode(selfStats(srvs, false))
			case "gcstats":
				err = enc.Encode(selfStats(srvs, true))
			default:
				err = enc.Encode(map[string]string{"error": "unknown command"})
			}
			if err != nil {
				return fmt.Errorf("bench: failed to answer: %w", err)
			}
		}
	}
}

// selfStats measures this process.
func selfStats(srvs []*server.Server, gc bool) ServerStats {
	if gc {
		runtime.GC()
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := ProcRSS(os.Getpid())
	s := ServerStats{CPU: SelfCPU(), RSS: rss, HeapInuse: ms.HeapInuse, HeapAlloc: ms.HeapAlloc,
		StackInuse: ms.StackInuse, Sys: ms.Sys, Goroutines: runtime.NumGoroutine(), NumGC: ms.NumGC,
		FDs: ProcFDs(os.Getpid())}
	for _, srv := range srvs {
		s.Sockets += srv.Node().Sockets()
	}
	return s
}

// redactDB names a DB_URI without credentials.
func redactDB(uri string) string {
	if strings.HasPrefix(uri, "postgres") {
		if i := strings.LastIndexByte(uri, '@'); i >= 0 {
			return "postgres://…@" + uri[i+1:]
		}
	}
	return uri
}

// benchRedis is the Redis a multi-instance benchmark runs over.
type benchRedis struct {
	url  string
	kind string
	pid  int
	stop func()
}

// startRedis starts the Redis named by choice.
func startRedis(choice, dir string) (*benchRedis, error) {
	switch {
	case strings.HasPrefix(choice, "redis://"):
		return &benchRedis{url: choice, kind: "external", stop: func() {}}, nil
	case choice == RedisMiniredis:
		return startMiniredis()
	case choice == RedisServerBin:
		return startRedisServer(dir)
	case choice == "" || choice == RedisAuto:
		if redisServerPath() != "" {
			return startRedisServer(dir)
		}
		return startMiniredis()
	}
	return nil, fmt.Errorf("bench: unknown redis choice %q (want auto, miniredis, redis-server or a redis:// URL)", choice)
}

func startMiniredis() (*benchRedis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("bench: failed to start miniredis: %w", err)
	}
	return &benchRedis{url: "redis://" + m.Addr(), kind: "miniredis", stop: m.Close}, nil
}

// redisServerPath finds redis-server: $DMCHAT_REDIS_SERVER, else PATH.
func redisServerPath() string {
	if p := os.Getenv(redisServerEnv); p != "" {
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	return p
}

func startRedisServer(dir string) (*benchRedis, error) {
	bin := redisServerPath()
	if bin == "" {
		return nil, errors.New("bench: redis-server not found (install it or set " + redisServerEnv + ")")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: failed to find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: failed to start redis-server: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	version, err := waitRedis(addr, 10*time.Second)
	if err != nil {
		stop()
		return nil, err
	}
	return &benchRedis{url: "redis://" + addr, kind: "redis-server " + version, pid: cmd.Process.Pid, stop: stop}, nil
}

// waitRedis pings addr until it answers, and returns its version.
func waitRedis(addr string, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = io.WriteString(c, "INFO server\r\n")
			r := bufio.NewReader(c)
			version := "?"
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					break
				}
				if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
					version = strings.TrimSpace(v)
					break
				}
			}
			_ = c.Close()
			if version != "?" {
				return version, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("bench: redis-server at %s did not answer within %v", addr, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
