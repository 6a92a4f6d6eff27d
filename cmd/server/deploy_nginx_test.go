package main

// The deployment of docs/deploy.md, with the real programs: nginx from
// Debian's package in front of two production server processes over a real
// redis-server, configured by the shipped deploy/nginx/dmchat.conf with only
// its addresses and certificate paths changed, TLS with a certificate the
// test makes.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
)

// nginxBin finds nginx (DMCHAT_NGINX, else PATH, else /usr/sbin/nginx),
// skipping the test when there is none unless services are required.
func nginxBin(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("DMCHAT_NGINX"), "nginx", "/usr/sbin/nginx"} {
		if p == "" {
			continue
		}
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if requireServices() {
		t.Fatal("nginx not found and DMCHAT_REQUIRE_SERVICES=1 (make test installs it)")
	}
	t.Skip("nginx not found (set DMCHAT_NGINX)")
	return ""
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "dmchat test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certPath, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certPath, keyPath, pool
}

// replaceOnce replaces old, which must occur exactly once, in s.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("deploy/nginx/dmchat.conf: %q occurs %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// nginxProc is nginx in the foreground with the shipped site config.
type nginxProc struct {
	httpPort, tlsPort int
	dir               string
	cmd               *exec.Cmd
	done              chan struct{}
}

// startNginx runs nginx with deploy/nginx/dmchat.conf pointed at the given
// upstream ports, listening on 127.0.0.1 for plain HTTP and TLS.
func startNginx(t *testing.T, upstreams []int, certPath, keyPath string) *nginxProc {
	t.Helper()
	bin := nginxBin(t)
	site, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "dmchat.conf"))
	if err != nil {
		t.Fatal(err)
	}
	n := &nginxProc{httpPort: freePort(t), tlsPort: freePort(t), dir: t.TempDir(), done: make(chan struct{})}
	conf := string(site)
	conf = replaceOnce(t, conf, "server 127.0.0.1:8000 ", "server 127.0.0.1:"+strconv.Itoa(upstreams[0])+" ")
	conf = replaceOnce(t, conf, "server 127.0.0.1:8001 ", "server 127.0.0.1:"+strconv.Itoa(upstreams[1])+" ")
	conf = replaceOnce(t, conf, "listen 80;", "listen 127.0.0.1:"+strconv.Itoa(n.httpPort)+";")
	conf = replaceOnce(t, conf, "listen 443 ssl;", "listen 127.0.0.1:"+strconv.Itoa(n.tlsPort)+" ssl;")
	conf = replaceOnce(t, conf, "/etc/ssl/dmchat/cert.pem", certPath)
	conf = replaceOnce(t, conf, "/etc/ssl/dmchat/key.pem", keyPath)
	sitePath := filepath.Join(n.dir, "dmchat.conf")
	if err := os.WriteFile(sitePath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// The main context a Debian nginx.conf provides, with every path in
	// the test's directory. As root the workers would run as nobody, who
	// cannot enter that directory.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	d := n.dir
	main := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 1024; }
http {
    access_log %s/access.log;
    client_body_temp_path %s/body;
    proxy_temp_path %s/proxy;
    fastcgi_temp_path %s/fastcgi;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
    include %s;
}
`, user, d, d, d, d, d, d, d, d, sitePath)
	mainPath := filepath.Join(d, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", d, "-c", mainPath).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	n.cmd = exec.Command(bin, "-p", d, "-c", mainPath)
	n.cmd.Stdout, n.cmd.Stderr = os.Stderr, os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		_ = n.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(d, "error.log")); err == nil {
				t.Logf("nginx error.log:\n%s", b)
			}
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for refused(n.tlsPort) || refused(n.httpPort) {
		select {
		case <-n.done:
			t.Fatal("nginx exited at start")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not listen within 10 s")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	return n
}

func (n *nginxProc) origin() string { return "https://127.0.0.1:" + strconv.Itoa(n.tlsPort) }

// httpsFrom is an HTTP client that trusts pool and connects from the
// loopback address local (127.0.0.x), as a distinct client host would.
func httpsFrom(pool *x509.CertPool, local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:     d.DialContext,
			TLSClientConfig: &tls.Config{RootCAs: pool},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

func TestBehindNginx(t *testing.T) {
	t.Parallel()
	redis := startRedisProc(t)
	dir := t.TempDir()
	certPath, keyPath, pool := selfSigned(t, dir)
	const (
		secret    = "deploy-test-secret-0123456789abcdef"
		adminPass = "adminpass1"
		password  = "deploypass1"
	)
	dbURI := "sqlite:" + filepath.Join(dir, "chat.db")
	seedStore(t, dbURI, adminPass, password, "alice", "bob", "carol", "dave")
	portA, portB := freePort(t), freePort(t)
	ngx := startNginx(t, []int{portA, portB}, certPath, keyPath)
	common := []string{"APP_ENV=production", "JWT_SECRET=" + secret, "DB_URI=" + dbURI,
		"REDIS_URL=" + redis.url(), "COOKIE_DOMAIN=127.0.0.1", "CORS_ORIGIN=" + ngx.origin(), "WS_PATH=/ws",
		"METRICS_SECRET=metrics-secret-0123456789", "TRUSTED_PROXIES=127.0.0.1/32"}
	procs := map[string]*proc{
		"A": start(t, baseEnv(append(common, "INSTANCE_ID=A", "PORT="+strconv.Itoa(portA))...), ""),
		"B": start(t, baseEnv(append(common, "INSTANCE_ID=B", "PORT="+strconv.Itoa(portB))...), ""),
	}
	for _, p := range procs {
		p.listening()
		p.waitLog(10*time.Second, "RedisBus bus_connected", event("RedisBus", "bus_connected"))
	}
	ctx := testCtx(t, 120*time.Second)
	web := &client.API{BaseURL: ngx.origin(), HTTP: httpsFrom(pool, "127.0.0.1"), UseCookie: true}

	t.Run("plain HTTP redirects to TLS", func(t *testing.T) {
		resp, err := httpsFrom(pool, "127.0.0.1").Get("http://127.0.0.1:" + strconv.Itoa(ngx.httpPort) + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://") {
			t.Fatalf("GET http://…/healthz: %d Location %q, want 301 to https", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	// Login through the proxy sets a Secure, HttpOnly cookie; the cookie
	// opens the WebSocket at WS_PATH through the proxy.
	cookies := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "admin"} {
		pw := password
		if name == "admin" {
			pw = adminPass
		}
		c, err := web.LoginCookie(ctx, name, pw)
		if err != nil {
			t.Fatalf("login %s through nginx: %v", name, err)
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookie of %s: Secure=%t HttpOnly=%t SameSite=%v, want Secure HttpOnly Lax", name, c.Secure, c.HttpOnly, c.SameSite)
		}
		cookies[name] = c.Value
	}
	me := func(name string) client.UserInfo {
		u, err := web.Me(ctx, cookies[name])
		if err != nil {
			t.Fatalf("me %s: %v", name, err)
		}
		return u
	}
	alice, bob, carol, dave := me("alice"), me("bob"), me("carol"), me("dave")
	wsOpts := client.DialOptions{UseCookie: true, Origin: ngx.origin(), HTTPClient: httpsFrom(pool, "127.0.0.1")}
	dialWeb := func(t *testing.T, name string) *client.Conn {
		c, _, _ := dial(ctx, t, web, "/ws", cookies[name], wsOpts)
		return c
	}

	t.Run("a DM through the proxy", func(t *testing.T) {
		a, b := dialWeb(t, "alice"), dialWeb(t, "bob")
		if err := a.SendMessage(ctx, "through-nginx", bob.ID, "hello through nginx"); err != nil {
			t.Fatal(err)
		}
		ack := waitFrame(ctx, t, a, chat.TypeMessageAck)
		m := waitFrame(ctx, t, b, chat.TypeMessage)
		if m.MessageID != ack.MessageID || m.SenderID != alice.ID {
			t.Fatalf("bob got %s, want %s from alice", m.Raw, ack.MessageID)
		}
		if err := b.Ack(ctx, m.MessageID); err != nil {
			t.Fatal(err)
		}
		if st := waitFrame(ctx, t, a, chat.TypeMessageState); st.MessageID != m.MessageID {
			t.Fatalf("state %s, want DELIVERED of %s", st.Raw, m.MessageID)
		}
		_ = a.Close()
		_ = b.Close()
	})

	t.Run("a foreign origin is refused through the proxy", func(t *testing.T) {
		_, err := web.Do(ctx, client.Request{Method: http.MethodPost, Path: "/api/admin/users/" + dave.ID + "/ban",
			Token: cookies["admin"], Header: http.Header{"Origin": {"http://evil.example"}}}, nil)
		if client.HTTPStatus(err) != http.StatusForbidden {
			t.Fatalf("ban from a foreign origin: %v, want 403", err)
		}
	})

	t.Run("a ban kicks through the proxy", func(t *testing.T) {
		c := dialWeb(t, "carol")
		_, err := web.Do(ctx, client.Request{Method: http.MethodPost, Path: "/api/admin/users/" + carol.ID + "/ban",
			Token: cookies["admin"], Header: http.Header{"Origin": {ngx.origin()}}}, nil)
		if err != nil {
			t.Fatalf("ban: %v", err)
		}
		if f := waitFrame(ctx, t, c, chat.TypeError); f.Code != chat.CodeBanned {
			t.Fatalf("carol got %s, want ERROR BANNED", f.Raw)
		}
		_, err = c.Next(ctx)
		var ce *client.CloseError
		if !errors.As(err, &ce) || ce.Code != chat.CloseBanned {
			t.Fatalf("carol after ERROR BANNED: %v, want close 4003", err)
		}
	})

	t.Run("login limit per real client", func(t *testing.T) {
		// Register with a name too short is refused (400) before any
		// password work, but counts towards the per-address limit of login
		// and register. nginx spreads requests over both instances, each
		// with its own buckets: 60 quick ones from 127.0.0.2 pass the burst
		// of 20 on both.
		burst := func(api *client.API, n int, header http.Header) (limited int) {
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := api.Do(ctx, client.Request{Method: http.MethodPost, Path: "/api/auth/register",
						Body: map[string]string{"username": "x", "password": "whatever1"}, Header: header}, nil)
					if client.HTTPStatus(err) == http.StatusTooManyRequests {
						mu.Lock()
						limited++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			return limited
		}
		// A burst leaves connections the transport dialled and never used;
		// net/http's Shutdown waits up to 5 s for such new connections, so
		// close them before the SIGTERM below.
		var clients []*http.Client
		from := func(local string) *http.Client {
			c := httpsFrom(pool, local)
			clients = append(clients, c)
			return c
		}
		defer func() {
			for _, c := range clients {
				c.CloseIdleConnections()
			}
		}()
		from2 := &client.API{BaseURL: ngx.origin(), HTTP: from("127.0.0.2")}
		if n := burst(from2, 60, nil); n == 0 {
			t.Fatal("60 quick registers from 127.0.0.2 through nginx: none limited")
		}
		// The same address straight to instance A, claiming to be another
		// client: an untrusted peer's X-Forwarded-For is ignored, so it
		// shares 127.0.0.2's empty bucket.
		direct2 := &client.API{BaseURL: "http://127.0.0.1:" + strconv.Itoa(portA), HTTP: from("127.0.0.2")}
		if n := burst(direct2, 10, http.Header{"X-Forwarded-For": {"127.0.0.9"}}); n == 0 {
			t.Error("a spoofed X-Forwarded-For from an untrusted peer got a fresh bucket")
		}
		// Another real client through nginx, even naming 127.0.0.2 in its
		// own X-Forwarded-For, is limited on its own address: a login
		// works at once.
		from3 := &client.API{BaseURL: ngx.origin(), HTTP: from("127.0.0.3")}
		if n := burst(from3, 10, http.Header{"X-Forwarded-For": {"127.0.0.2"}}); n != 0 {
			t.Errorf("127.0.0.3 through nginx: %d of 10 limited, want none", n)
		}
		if _, err := from3.Login(ctx, "alice", password); err != nil {
			t.Fatalf("login from 127.0.0.3 while 127.0.0.2 is limited: %v", err)
		}
	})

	t.Run("SIGTERM of one instance behind the proxy", func(t *testing.T) {
		sigtermBehindNginx(ctx, t, web, wsOpts, procs, cookies, alice, bob)
	})
}

// sigtermBehindNginx sends numbered DMs from alice to bob through nginx
// while the instance holding bob's socket is stopped with SIGTERM: bob sees
// 1001, both reconnect through nginx (to the other instance), unacked sends
// are retried with their clientMessageId, and the conversation holds every
// DM exactly once.
func sigtermBehindNginx(ctx context.Context, t *testing.T, web *client.API, wsOpts client.DialOptions,
	procs map[string]*proc, cookies map[string]string, alice, bob client.UserInfo) {
	sender := &peer{t: t, api: web, opts: wsOpts, token: cookies["alice"]}
	receiver := &peer{t: t, api: web, opts: wsOpts, token: cookies["bob"]}
	sender.connect(ctx)
	receiver.connect(ctx)
	victim := instanceOf(ctx, t, web, cookies["admin"], bob.ID)
	const total = 30
	got := map[string]bool{} // content seen by bob
	send := func(i int) {
		cmid, content := "sigterm-"+strconv.Itoa(i), "numbered dm "+strconv.Itoa(i)
		for attempt := 0; ; attempt++ {
			if attempt == 5 {
				t.Fatalf("DM %d not acknowledged after 5 attempts", i)
			}
			if err := sender.c.SendMessage(ctx, cmid, bob.ID, content); err == nil {
				if _, err := sender.waitAck(ctx, cmid); err == nil {
					return
				}
			}
			sender.connect(ctx) // dropped with 1001: reconnect and retry
		}
	}
	for i := 0; i < total/2; i++ {
		send(i)
	}
	receiver.drainInto(ctx, got, total/2)
	procs[victim].signal(syscall.SIGTERM)
	if code, closed := receiver.waitClose(ctx); !closed || code != chat.CloseGoingAway {
		t.Fatalf("bob's socket on %s after SIGTERM: closed=%t code %d, want 1001", victim, closed, code)
	}
	if code := procs[victim].wait(15 * time.Second); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0", victim, code)
	}
	receiver.connect(ctx) // through nginx, now to the other instance
	for i := total / 2; i < total; i++ {
		send(i)
	}
	receiver.drainInto(ctx, got, total)
	msgs, _, err := web.Messages(ctx, cookies["bob"], alice.ID, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, m := range msgs {
		if strings.HasPrefix(m.Content, "numbered dm ") {
			stored[m.Content]++
		}
	}
	for i := 0; i < total; i++ {
		content := "numbered dm " + strconv.Itoa(i)
		if stored[content] != 1 {
			t.Errorf("%q stored %d times, want once", content, stored[content])
		}
		if !got[content] {
			t.Errorf("%q never reached bob", content)
		}
	}
}

// instanceOf waits until the admin list shows userID online on exactly one
// instance and returns its name.
func instanceOf(ctx context.Context, t *testing.T, api *client.API, adminToken, userID string) string {
	t.Helper()
	for {
		users, err := api.AdminUsers(ctx, adminToken)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if u.ID == userID && u.Online && len(u.Instances) == 1 {
				return u.Instances[0]
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("user %s never shown online on one instance", userID)
		case <-time.After(100 * time.Millisecond): // polling interval of presence
		}
	}
}

// peer is one user's socket through nginx, reconnected when dropped.
type peer struct {
	t     *testing.T
	api   *client.API
	opts  client.DialOptions
	token string
	c     *client.Conn
}

func (p *peer) connect(ctx context.Context) {
	p.t.Helper()
	if p.c != nil {
		_ = p.c.CloseNow()
	}
	p.c, _, _ = dial(ctx, p.t, p.api, "/ws", p.token, p.opts)
}

// waitAck waits for the MESSAGE_ACK of cmid, or the socket's end.
func (p *peer) waitAck(ctx context.Context, cmid string) (client.Frame, error) {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return p.c.WaitFor(wctx, func(f client.Frame) bool {
		return f.Type == chat.TypeMessageAck && f.ClientMessageID == cmid
	})
}

// drainInto acks every MESSAGE until got holds want contents.
func (p *peer) drainInto(ctx context.Context, got map[string]bool, want int) {
	p.t.Helper()
	for len(got) < want {
		f, err := p.c.WaitFor(ctx, client.OfType(chat.TypeMessage))
		if err != nil {
			p.t.Fatalf("bob has %d of %d DMs: %v", len(got), want, err)
		}
		got[f.Content] = true
		if err := p.c.Ack(ctx, f.MessageID); err != nil {
			p.t.Fatal(err)
		}
	}
}

// waitClose waits for the socket to end and returns its close code.
func (p *peer) waitClose(ctx context.Context) (int, bool) {
	select {
	case <-p.c.Done():
	case <-ctx.Done():
		return 0, false
	}
	code, _, closed := p.c.CloseStatus()
	return code, closed
}
