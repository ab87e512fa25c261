package faultproxy

import "net"

// loopConn is the transport under a client's TLS: the socket itself, or
// while the session is in the event loop, buffers that the loop fills from
// the socket and empties into it.
type loopConn struct {
	net.Conn
	looped     bool
	in         *[]byte // received, [inLo:inHi] not yet taken by TLS
	inLo, inHi int
	out        []byte // written by TLS, [outOff:] not yet sent
	outOff     int
}

// errWouldBlock tells TLS that no more bytes are there yet: a temporary
// error, after which a TLS connection still works.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "no bytes yet" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

func (lc *loopConn) Read(b []byte) (int, error) {
	if lc.inLo < lc.inHi {
		n := copy(b, (*lc.in)[lc.inLo:lc.inHi])
		lc.inLo += n
		return n, nil
	}
	if lc.looped {
		return 0, errWouldBlock
	}
	lc.release()
	return lc.Conn.Read(b)
}

func (lc *loopConn) Write(b []byte) (int, error) {
	if lc.looped {
		lc.out = append(lc.out, b...)
		return len(b), nil
	}
	return lc.Conn.Write(b)
}

// space is where the next bytes from the socket go.
func (lc *loopConn) space() []byte {
	if lc.in == nil {
		lc.in = bufPool.Get().(*[]byte)
	}
	if lc.inLo > 0 {
		lc.inHi = copy(*lc.in, (*lc.in)[lc.inLo:lc.inHi])
		lc.inLo = 0
	}
	return (*lc.in)[lc.inHi:]
}

// release gives back the input buffer once it is used up.
func (lc *loopConn) release() {
	if lc.in != nil && lc.inLo == lc.inHi {
		bufPool.Put(lc.in)
		lc.in, lc.inLo, lc.inHi = nil, 0, 0
	}
}
