//go:build linux

package probe

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ackNow makes the kernel send the ACK of the data just read at once instead of up to 40 ms later (delayed ACK):
// the ACK is the connection's last packet, from which a middle box counts its idle time, so that the idle-cut
// finder's clock and the middle box's start together.
func ackNow(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
