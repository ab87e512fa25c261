//go:build !linux

package pgtest

import (
	"net/netip"
	"runtime"
	"testing"
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
