package pgtest_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

func TestDNS(t *testing.T) {
	t.Parallel()
	d := pgtest.StartDNS(t, map[string][]netip.Addr{
		"db.pgtest.test":     {netip.MustParseAddr("198.18.0.10"), netip.MustParseAddr("2001:db8::10")},
		"v4.pgtest.test.":    {netip.MustParseAddr("198.18.0.11")},
		"broken.pgtest.test": nil,
		"silent.pgtest.test": nil,
	})
	d.ServFail("broken.pgtest.test")
	d.Silence("silent.pgtest.test")
	r := d.Resolver()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	lookup := func(name string) ([]string, error) {
		addrs, err := r.LookupHost(ctx, name)
		slices.Sort(addrs)
		return addrs, err
	}
	if got, err := lookup("DB.pgtest.test"); err != nil || !slices.Equal(got, []string{"198.18.0.10", "2001:db8::10"}) {
		t.Errorf("db: %v, %v", got, err)
	}
	if got, err := lookup("v4.pgtest.test"); err != nil || !slices.Equal(got, []string{"198.18.0.11"}) {
		t.Errorf("v4: %v, %v", got, err)
	}
	d.Set("v4.pgtest.test", netip.MustParseAddr("198.18.0.12"))
	if got, err := lookup("v4.pgtest.test"); err != nil || !slices.Equal(got, []string{"198.18.0.12"}) {
		t.Errorf("v4 after Set: %v, %v", got, err)
	}

	var dnsErr *net.DNSError
	_, err := lookup("missing.pgtest.test")
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("missing: got %v, want not found", err)
	}
	_, err = lookup("broken.pgtest.test")
	if !errors.As(err, &dnsErr) || dnsErr.IsNotFound || dnsErr.IsTimeout {
		t.Errorf("broken: got %#v, want a server failure", err)
	}

	// A chain of aliases: Go's resolver follows it to the addresses (the probe's tests read the chain itself).
	d.CNAME("orders.pgtest.test", "orders.privatelink.pgtest.test")
	d.CNAME("orders.privatelink.pgtest.test", "gateway.pgtest.test")
	d.Set("gateway.pgtest.test", netip.MustParseAddr("198.18.0.13"))
	if got, err := lookup("orders.pgtest.test"); err != nil || !slices.Equal(got, []string{"198.18.0.13"}) {
		t.Errorf("alias: %v, %v", got, err)
	}
	d.CNAME("dangling.pgtest.test", "nowhere.pgtest.test")
	if _, err := lookup("dangling.pgtest.test"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("alias of a missing name: got %v, want not found", err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	_, err = r.LookupHost(short, "silent.pgtest.test")
	if !errors.As(err, &dnsErr) || !dnsErr.IsTimeout {
		t.Errorf("silent: got %v, want a time-out", err)
	}
}
