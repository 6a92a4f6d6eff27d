// Package chat holds the domain types shared by every other package: users,
// messages and their delivery state, the JSON frames of the WebSocket
// protocol, and the wire error and close codes. It imports nothing of ours, so
// every layer can depend on it without cycles.
package chat
