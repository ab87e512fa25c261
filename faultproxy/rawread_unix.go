//go:build unix

package faultproxy

import (
	"net"
	"syscall"
)

// rawSocket gives chunkReader the socket's descriptor, to read it without
// a wake-up of the poller for each read.
func rawSocket(c *net.TCPConn) syscall.RawConn {
	rc, _ := c.SyscallConn()
	return rc
}

func readFD(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }
