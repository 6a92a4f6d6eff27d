// Package hub owns this instance's live sockets: which users are connected
// here, one bounded outbound queue per socket with at most one writer
// goroutine (started only while frames wait, and handing the socket all of
// them at once), and the rule that a message is never pushed twice on one
// connection while its DELIVERY_ACK can still come. It knows nothing of
// WebSocket libraries (a socket's wire is the small Transport interface), of the store
// or of other instances: the node decides what to deliver, the hub delivers
// it locally. The hub owns every goroutine it starts (writers, close
// handshakes) and chooses itself whether a frame is written by the
// goroutine that pushes it or by a writer (see writer.go); Shutdown ends
// them all.
package hub
