// Package node is the chat engine of one server instance: it ties the
// store, the bus and the hub together and implements the protocol's
// behaviour — persist first, acknowledge, deliver live here and through the
// bus, mark DELIVERED once, replay on connect, catch up after a bus outage,
// and ban. It is the bus's Handler. It knows nothing of HTTP or of the
// WebSocket library: httpapi hands it sockets as hub.Transport values.
package node
