//go:build unix

package httpapi

import "syscall"

// rawWriteFD is one non-blocking write(2) on the socket's descriptor.
func rawWriteFD(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }

// rawReadableFD reports whether the socket has something to read (bytes,
// EOF or an error), without taking it: one recv(2) with MSG_PEEK on the
// non-blocking descriptor. It is a syscall.RawConn.Read callback: false
// waits for the socket to become readable.
func rawReadableFD(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	return err != syscall.EAGAIN
}
