package pgtest_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

func TestNetnsDropAndReject(t *testing.T) {
	t.Parallel()
	n := pgtest.NewNetns(t)
	open, dropped, rejected, prohibited := n.Addr(t), n.Addr(t), n.Addr(t), n.Addr(t)
	n.Nft(t, fmt.Sprintf(`table inet pgtest {
	chain input {
		type filter hook input priority 0;
		ip daddr %s tcp dport 5432 drop
		ip daddr %s tcp dport 5432 reject with icmp type host-unreachable
		ip daddr %s tcp dport 5432 reject with icmp type admin-prohibited
	}
}`, dropped, rejected, prohibited))

	dial := func(a netip.Addr) (time.Duration, error) {
		start := time.Now()
		conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(a, 5432).String(), 300*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return time.Since(start), err
	}

	// Nothing listens in the namespace: its kernel answers with a reset,
	// which proves the path works.
	if _, err := dial(open); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("open address: got %v, want connection refused", err)
	}
	var netErr net.Error
	if _, err := dial(dropped); !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("dropped: got %v, want a time-out", err)
	}
	for _, a := range []netip.Addr{rejected, prohibited} {
		took, err := dial(a)
		if !errors.Is(err, syscall.EHOSTUNREACH) || took > 200*time.Millisecond {
			t.Errorf("rejected %s: got %v after %v, want no route to host at once", a, err, took)
		}
	}
}
