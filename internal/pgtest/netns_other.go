//go:build !linux

package pgtest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// Netns needs Linux (network namespaces, veth pairs, nftables); elsewhere
// every test that asks for one skips and says so. No machine of another
// system can install it, so this skips even under CI=true.
type Netns struct {
	Name     string
	HostAddr netip.Addr
}

func NewNetns(t testing.TB) *Netns {
	t.Helper()
	t.Skipf("pgtest: network namespaces are Linux-only (this is %s)", runtime.GOOS)
	return nil
}

func (n *Netns) Addr(t testing.TB) netip.Addr {
	t.Helper()
	t.Skip("pgtest: network namespaces are Linux-only")
	return netip.Addr{}
}

func (n *Netns) Nft(t testing.TB, ruleset string) {
	t.Helper()
	t.Skip("pgtest: network namespaces are Linux-only")
}

// The rest of Netns's methods and the paths built on it, for the same reason: the tests that call them compile
// everywhere and skip here.

var errLinuxOnly = errors.New("pgtest: network namespaces are Linux-only")

func linuxOnly(t testing.TB) {
	t.Helper()
	t.Skip(errLinuxOnly)
}

func (n *Netns) Listen(t testing.TB, a netip.Addr) net.Listener { linuxOnly(t); return nil }

func (n *Netns) Forward(t testing.TB, a netip.Addr, to string) netip.AddrPort {
	linuxOnly(t)
	return netip.AddrPort{}
}

func (n *Netns) Attach(t testing.TB, a netip.Addr) { linuxOnly(t) }

func (n *Netns) Sysctl(t testing.TB, key, value string) { linuxOnly(t) }

func (n *Netns) RemoveIPv4(t testing.TB) { linuxOnly(t) }

func (n *Netns) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errLinuxOnly
}

func IdleCutPath(t testing.TB, target string, cut time.Duration, reset bool) netip.AddrPort {
	linuxOnly(t)
	return netip.AddrPort{}
}

func MTUBlackholePath(t testing.TB, target string, mtu int) netip.AddrPort {
	linuxOnly(t)
	return netip.AddrPort{}
}
