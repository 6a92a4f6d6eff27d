//go:build !unix

package httpapi

import "syscall"

// rawWriteFD reports the socket full: without a non-blocking write on this
// platform (Windows sockets are overlapped handles), the bytes are held and
// go out through the connection's ordinary, blocking Write.
func rawWriteFD(uintptr, []byte) (int, error) { return 0, syscall.EAGAIN }

// rawReadableFD reports the socket readable at once: without a peek on
// this platform the read loop waits inside coder/websocket, as before.
func rawReadableFD(uintptr) bool { return true }
