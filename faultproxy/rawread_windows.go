package faultproxy

import (
	"net"
	"syscall"
)

// rawSocket is nil on Windows: its sockets do overlapped I/O, which a raw
// non-blocking read cannot do, so chunkReader reads through net.Conn.
func rawSocket(*net.TCPConn) syscall.RawConn { return nil }

// readFD is never reached on Windows (rawSocket gives no descriptor).
func readFD(uintptr, []byte) (int, error) { return 0, syscall.EWINDOWS }
