//go:build linux

package pgtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Listen opens a TCP listener inside the namespace on a (an address of Addr or Attach), on a port the kernel
// picks; cleanup closes it. A socket stays in the namespace it was made in, so the test's own goroutines serve
// it: the connections from the host cross the veth pair and the namespace's nftables rules and connection
// tracking, as from a server behind a firewall or NAT.
func (n *Netns) Listen(t testing.TB, a netip.Addr) net.Listener {
	t.Helper()
	var l net.Listener
	err := n.inside(func() error {
		var err error
		// No keepalives: they would keep a middle box's state alive, which tests of idle cuts must not.
		lc := net.ListenConfig{KeepAlive: -1}
		l, err = lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(a, 0).String())
		return err
	})
	if err != nil {
		t.Fatalf("pgtest: listen in %s: %v", n.Name, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Forward listens inside the namespace on a and copies every connection, both ways, to the host address to
// (such as a cluster's 127.0.0.1:port), and returns the address to dial. So a PostgreSQL server on the host
// answers through the namespace: what the namespace's rules do to the connection (drops, resets, an MTU, idle
// timeouts) the client sees. Cleanup closes the listener and every connection.
func (n *Netns) Forward(t testing.TB, a netip.Addr, to string) netip.AddrPort {
	t.Helper()
	l := n.Listen(t, a)
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	track := func(c net.Conn, add bool) bool {
		mu.Lock()
		defer mu.Unlock()
		if conns == nil {
			return false
		}
		if add {
			conns[c] = true
		} else {
			delete(conns, c)
		}
		return true
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var d net.Dialer
			out, err := d.DialContext(ctx, "tcp", to)
			cancel()
			if err != nil {
				in.Close()
				continue
			}
			if !track(in, true) || !track(out, true) {
				in.Close()
				out.Close()
				continue
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(dst, src)
				// One side ended: end both, as the peer would see a server go away.
				dst.Close()
				src.Close()
				track(dst, false)
				track(src, false)
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		conns = nil
		mu.Unlock()
		wg.Wait()
	})
	return netip.MustParseAddrPort(l.Addr().String())
}

// Attach adds the address a (any address, such as a private 10.x one or an IPv6 one) to the namespace and
// routes it from the host to the veth pair, so that a test can give a name a realistic address while all the
// traffic to it stays on this machine. The route goes with the namespace.
func (n *Netns) Attach(t testing.TB, a netip.Addr) {
	t.Helper()
	family := "-4"
	if a.Is6() {
		family = "-6"
	}
	ipCmd(t, nil, "-n", n.Name, family, "addr", "add", netip.PrefixFrom(a, a.BitLen()).String(), "dev", nsLink, "nodad")
	ipCmd(t, nil, family, "route", "add", netip.PrefixFrom(a, a.BitLen()).String(), "dev", n.hostLink)
}

// inside runs f on an OS thread that has joined the namespace. The thread is never given back to the runtime
// (the goroutine ends locked), so no other goroutine runs in the namespace by accident.
func (n *Netns) inside(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		fd, err := os.Open("/run/netns/" + n.Name)
		if err != nil {
			errc <- err
			return
		}
		defer fd.Close()
		if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Sysctl sets a network sysctl inside the namespace (key as for sysctl(8), such as
// net.netfilter.nf_conntrack_tcp_timeout_established): the net.* ones are the namespace's own, and /proc/sys/net
// shows those of the thread that opens it.
func (n *Netns) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := n.inside(func() error { return os.WriteFile(path, []byte(value), 0) }); err != nil {
		t.Fatalf("pgtest: sysctl %s=%s in %s: %v", key, value, n.Name, err)
	}
}

// IdleCutPath puts the TCP server at target (such as a cluster's 127.0.0.1:port) behind a new namespace whose
// connection tracking forgets established connections idle for cut (whole seconds), and which then drops (or,
// with reset, resets) the packets of the connections it forgot: a NAT gateway or load balancer with an idle
// timeout, made by the kernel. It returns the address to dial instead of target.
func IdleCutPath(t testing.TB, target string, cut time.Duration, reset bool) netip.AddrPort {
	t.Helper()
	if cut < time.Second || cut%time.Second != 0 {
		t.Fatalf("pgtest: idle cut %s: conntrack counts whole seconds", cut)
	}
	n := NewNetns(t)
	a := n.Addr(t)
	via := n.Forward(t, a, target)
	verdict := "drop"
	if reset {
		verdict = "reject with tcp reset"
	}
	// A packet of a connection that conntrack forgot is "new" without being a SYN (or invalid).
	n.Nft(t, fmt.Sprintf(`table inet pgtest {
	chain input {
		type filter hook input priority 0;
		ip daddr %[1]s tcp dport %[2]d ct state invalid %[3]s
		ip daddr %[1]s tcp dport %[2]d ct state new tcp flags & (syn | ack) != syn %[3]s
	}
}`, a, via.Port(), verdict))
	// Set after the ruleset: its ct expressions load conntrack, which makes the sysctl.
	n.Sysctl(t, "net.netfilter.nf_conntrack_tcp_timeout_established", fmt.Sprint(int(cut.Seconds())))
	return via
}

// MTUBlackholePath puts the TCP server at target behind a new namespace whose way back to the host is a path-MTU
// black hole: packets longer than mtu bytes are dropped, as a link of that MTU on the path drops them, and the
// ICMP "fragmentation needed" that would tell the sender is dropped too, as filtering firewalls do. Small
// exchanges pass; a large result stalls. It returns the address to dial instead of target.
//
// The drop is an nftables rule rather than the MTU of a veth end: a veth pair lets GSO packets larger than its
// peer's MTU through, and each end's MTU sets the MSS it advertises, so no pair of MTUs alone makes a black hole.
func MTUBlackholePath(t testing.TB, target string, mtu int) netip.AddrPort {
	t.Helper()
	n := NewNetns(t)
	a := n.Addr(t)
	via := n.Forward(t, a, target)
	n.Nft(t, fmt.Sprintf(`table inet pgtest {
	chain output {
		type filter hook output priority 0;
		icmp type destination-unreachable icmp code frag-needed drop
		ip saddr %s tcp sport %d ip length > %d drop
	}
}`, a, via.Port(), mtu))
	return via
}

// DialContext opens a connection from inside the namespace, as a client in that network would: its routes (an
// IPv4-only or IPv6-only namespace) decide what it reaches. It has the signature of net.Dialer.DialContext.
func (n *Netns) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := n.inside(func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, address)
		return err
	})
	return conn, err
}

// RemoveIPv4 takes every IPv4 address, and so every IPv4 route, from the namespace's veth end: an IPv6-only
// network. The host can no longer reach the namespace over IPv4; Attach an IPv6 address for that.
func (n *Netns) RemoveIPv4(t testing.TB) {
	t.Helper()
	ipCmd(t, nil, "-n", n.Name, "-4", "addr", "flush", "dev", nsLink)
}
