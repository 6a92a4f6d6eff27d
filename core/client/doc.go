// Package client is a Go client of the server's public contract
// (docs/protocol.md): the JSON HTTP API and the WebSocket protocol, spoken
// over real sockets. The server's integration tests, the sandbox's simulated
// users, the scenario runner and the load tool build on it.
//
// HTTP calls go through an API value:
//
//	api := &client.API{BaseURL: "http://127.0.0.1:8000"}
//	token, err := api.Login(ctx, "alice", "password1")
//	me, err := api.Me(ctx, token)
//
// A non-2xx answer is an *APIError carrying the status and the wire error
// code; ErrorCode and HTTPStatus pull them out of any wrapped error.
//
// A WebSocket is opened with Dial. One goroutine reads frames into a bounded
// queue in order; when the queue is full it stops reading (it never drops), so
// the caller controls the pace:
//
//	c, _, err := client.Dial(ctx, api.WSURL(""), client.DialOptions{Token: token})
//	defer c.Close()
//	done, err := c.WaitFor(ctx, client.OfType(chat.TypeReplayDone))
//	err = c.SendMessage(ctx, "c1", bobID, "hello")
//	ack, err := c.WaitFor(ctx, client.OfType(chat.TypeMessageAck))
//
// A refused upgrade is a *DialError with the HTTP status; a connection the
// server closed ends with a *CloseError holding the close code (4003, 4001,
// 1001, 1008, 1009...), also reported by Conn.CloseStatus.
//
// Tokens are sent as "Authorization: Bearer" by default (this is a
// non-browser client), or as the "token" cookie when asked to.
package client
