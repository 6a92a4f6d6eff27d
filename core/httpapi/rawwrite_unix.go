//go:build unix

package httpapi

import "syscall"

// rawWriteFD is one non-blocking write(2) on the socket's descriptor.
func rawWriteFD(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }
