//go:build !linux

package faultproxy

import (
	"errors"
	"runtime"
)

// evloop is Linux's epoll loop (evloop_linux.go). Elsewhere there is none,
// p.loop stays nil, and pump copies every session with its own goroutines
// through Go's poller (kqueue, IOCP), which is correct, only costlier.
type evloop struct{}

func newEvloop() (*evloop, error) {
	return nil, errors.New("no event loop on " + runtime.GOOS)
}

func (*evloop) close() {}

// loopSession leaves every session to pump.
func (c *conn) loopSession() bool { return true }
