package chat

// Wire error codes, for ERROR frames and HTTP error bodies.
const (
	CodeBanned           = "BANNED"
	CodeBadFrame         = "BAD_FRAME"
	CodeTooLarge         = "TOO_LARGE"
	CodeUnknownRecipient = "UNKNOWN_RECIPIENT"
	CodeRateLimited      = "RATE_LIMITED"
	CodeForbidden        = "FORBIDDEN"
	CodeInternal         = "INTERNAL"
	// CodeTooManyConnections is the only frame of a socket past
	// WS_MAX_SOCKETS_PER_USER, which is then closed with ClosePolicy.
	CodeTooManyConnections = "TOO_MANY_CONNECTIONS"
	// HTTP-only codes.
	CodeBadRequest    = "BAD_REQUEST"
	CodeUnauthorized  = "UNAUTHORIZED"
	CodeNotFound      = "NOT_FOUND"
	CodeUsernameTaken = "USERNAME_TAKEN"
)

// WebSocket close codes of the protocol.
const (
	CloseBanned        = 4003
	CloseTokenExpired  = 4001
	CloseGoingAway     = 1001
	ClosePolicy        = 1008
	CloseTooLarge      = 1009
	CloseNormal        = 1000
	CloseInternalError = 1011
	// CloseTryAgainLater closes a slow consumer: its queued bytes passed
	// WS_QUEUE_BYTES, its push would pass WS_OUTBOUND_BUDGET, or it holds
	// too many unacked messages. The contract lists no code for this; 1013
	// ("try again later") says the client may reconnect and be replayed.
	CloseTryAgainLater = 1013
	// CloseAbnormal is recorded, never sent, when a write to the socket
	// failed: the connection is gone, as with RFC 6455's 1006.
	CloseAbnormal = 1006
)
