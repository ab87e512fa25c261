//go:build linux

package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchmarking is 198.18.0.0/15 (RFC 2544): reserved for tests, so no real
// host on any network the machine might route to uses it.
var benchmarking = netip.MustParsePrefix("198.18.0.0/15")

// Netns is a network namespace of one test, joined to the host by a veth
// pair over a /24 of its own in 198.18.0.0/15. The host routes that /24 to
// the veth, and the namespace has no route but that /24, so nothing sent to
// or from its addresses leaves the machine.
type Netns struct {
	Name     string
	HostAddr netip.Addr // the host's end of the veth: the source the namespace sees

	hostLink string // the host's end of the veth pair
	subnet   netip.Prefix
	mu       sync.Mutex
	next     netip.Addr // the next address Addr gives
}

// nsLink is the name of the veth end inside every namespace; a namespace
// of its own makes one name enough.
const nsLink = "pgtest0"

// NewNetns creates the namespace, the veth pair, and the addresses, with lo
// up inside; cleanup deletes the namespace, which deletes the veth pair. It
// skips the test unless it runs as root with ip and nft installed.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "pgtest: network namespaces need root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, "pgtest: network namespaces need %s: %v", tool, err)
		}
	}
	// The lock makes choosing a free /24 and taking it one step for the
	// parallel test binaries of the machine.
	lock, err := os.OpenFile("/run/pgtest-netns.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer lock.Close() // closing releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("pgtest: lock: %v", err)
	}

	sweepNetns()
	subnet := freeSubnet(t)
	id := randomHex(t, 4)
	// The pid in the name lets sweepNetns find namespaces left behind.
	n := &Netns{Name: fmt.Sprintf("pgtest-%d-%s", os.Getpid(), id), subnet: subnet}
	base := subnet.Addr().As4()
	base[3] = 1
	n.HostAddr = netip.AddrFrom4(base)
	base[3] = 2
	n.next = netip.AddrFrom4(base)
	base[3] = 254
	nsAddr := netip.AddrFrom4(base) // the namespace's route back to the host hangs on it
	hostLink := "pgt" + id
	n.hostLink = hostLink

	ipCmd(t, nil, "netns", "add", n.Name)
	t.Cleanup(func() {
		if err := ip(nil, "netns", "delete", n.Name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	ipCmd(t, nil, "link", "add", hostLink, "type", "veth", "peer", "name", nsLink, "netns", n.Name)
	ipCmd(t, nil, "addr", "add", netip.PrefixFrom(n.HostAddr, 24).String(), "dev", hostLink)
	ipCmd(t, nil, "link", "set", hostLink, "up")
	ipCmd(t, nil, "-n", n.Name, "link", "set", "lo", "up")
	ipCmd(t, nil, "-n", n.Name, "addr", "add", netip.PrefixFrom(nsAddr, 24).String(), "dev", nsLink)
	ipCmd(t, nil, "-n", n.Name, "link", "set", nsLink, "up")
	waitUp(t, "link", "show", "dev", hostLink)
	waitUp(t, "-n", n.Name, "link", "show", "dev", nsLink)
	return n
}

// waitUp waits until ip -o ARGS shows a link up with its queue attached. The
// kernel does both a moment after "link set up" (up to a second later on a
// busy machine), and until then it drops every packet, which a test would
// take for a firewall.
func waitUp(t testing.TB, args ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ip", append([]string{"-o"}, args...)...).Output()
		if err == nil && bytes.Contains(out, []byte("state UP")) && !bytes.Contains(out, []byte("qdisc noop")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: link not up after 5s: ip %s: %s %v", strings.Join(args, " "), out, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Addr adds a fresh address to the namespace and returns it; the host
// reaches it through the veth. Separate addresses let one namespace hold
// differently firewalled targets.
func (n *Netns) Addr(t testing.TB) netip.Addr {
	t.Helper()
	n.mu.Lock()
	a := n.next
	n.next = a.Next()
	n.mu.Unlock()
	if a.As4()[3] >= 254 {
		t.Fatalf("pgtest: netns %s: out of addresses", n.Name)
	}
	ipCmd(t, nil, "-n", n.Name, "addr", "add", netip.PrefixFrom(a, 32).String(), "dev", nsLink)
	return a
}

// Nft loads an nftables ruleset (as for nft -f) inside the namespace, e.g.
//
//	table inet pgtest {
//		chain input {
//			type filter hook input priority 0;
//			ip daddr 198.18.7.2 tcp dport 5432 drop
//			ip daddr 198.18.7.3 tcp dport 5432 reject with icmp type admin-prohibited
//		}
//	}
func (n *Netns) Nft(t testing.TB, ruleset string) {
	t.Helper()
	ipCmd(t, strings.NewReader(ruleset), "netns", "exec", n.Name, "nft", "-f", "-")
}

// sweepNetns deletes the namespaces of test binaries that died without
// cleaning up (go test -timeout does not run t.Cleanup), which would
// otherwise keep their subnets.
func sweepNetns() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(line, " ")
		rest, ok := strings.CutPrefix(name, "pgtest-")
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			ip(nil, "netns", "delete", name) // best effort: not this test's failure
		}
	}
}

// freeSubnet picks a random /24 of 198.18.0.0/15 that no route of the host
// touches; the caller holds the lock.
func freeSubnet(t testing.TB) netip.Prefix {
	t.Helper()
	var routes bytes.Buffer
	cmd := exec.Command("ip", "-4", "route", "show", "table", "all")
	cmd.Stdout = &routes
	if err := cmd.Run(); err != nil {
		t.Fatalf("pgtest: ip route: %v", err)
	}
	var used []netip.Prefix
	for _, field := range strings.Fields(routes.String()) {
		p, err := netip.ParsePrefix(field)
		if err != nil {
			a, err := netip.ParseAddr(field)
			if err != nil {
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Overlaps(benchmarking) {
			used = append(used, p)
		}
	}
	for range 100 {
		i, err := rand.Int(rand.Reader, big.NewInt(512))
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		base := benchmarking.Addr().As4()
		base[2] += byte(i.Int64() % 256)
		base[1] += byte(i.Int64() / 256)
		candidate := netip.PrefixFrom(netip.AddrFrom4(base), 24)
		free := true
		for _, u := range used {
			free = free && !u.Overlaps(candidate)
		}
		if free {
			return candidate
		}
	}
	t.Fatalf("pgtest: no free /24 in %s (routes: %v)", benchmarking, used)
	return netip.Prefix{}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return hex.EncodeToString(b)
}

func ipCmd(t testing.TB, stdin *strings.Reader, args ...string) {
	t.Helper()
	if err := ip(stdin, args...); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// ip runs ip(8), bounded in time like every network operation of the tests.
func ip(stdin *strings.Reader, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
