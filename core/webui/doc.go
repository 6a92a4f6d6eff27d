// Package webui owns the web client every instance serves at GET /: plain
// HTML, CSS and ES modules embedded in the binary with go:embed (no build
// step, no Node at run time), and the http.Handler that serves them with
// their Content-Type, ETag revalidation and a strict Content-Security-Policy.
//
// The client is same-origin with the API, so the HttpOnly token cookie
// authenticates both its fetch calls and its WebSocket. The only thing the
// page needs from the server's configuration is the WebSocket path; the
// handler renders it into index.html as <meta name="dmchat-ws-path">.
//
//	h := webui.New(webui.Options{WSPath: "/ws"})
//	mux.Handle("GET /{$}", h)
//	mux.Handle("GET "+webui.AssetPrefix, h)
package webui
