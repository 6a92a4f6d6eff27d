// Package httpapi serves the protocol over HTTP: the REST routes of the
// contract, the WebSocket upgrade, health, readiness and metrics. It
// authenticates requests and translates between HTTP and the node; it holds
// no chat logic of its own. Every error body is
// {"error":{"code","message"}}, and its status, wire code and message are
// chosen in one place, httpError: handlers pass errors to fail.
package httpapi
