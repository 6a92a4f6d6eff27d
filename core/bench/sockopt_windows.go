package bench

import "syscall"

// setRecvBuffer sets a socket's receive buffer (SO_RCVBUF): a small one
// makes a non-reading client back up at once.
func setRecvBuffer(fd uintptr, bytes int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, bytes)
}
