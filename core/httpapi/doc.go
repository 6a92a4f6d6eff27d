// Package httpapi serves the protocol over HTTP: the REST routes of the
// contract, the WebSocket upgrade, health, readiness and metrics. It
// authenticates requests and translates between HTTP and the node; it holds
// no chat logic of its own. Every error body is
// {"error":{"code","message"}} and the wire code is chosen in one place,
// writeError.
package httpapi
