package probe

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// dialed is one address of one host and the outcome of connecting to it.
type dialed struct {
	ep      *endpoint
	network string
	address string // host:port, or the socket path
	conn    net.Conn
	stage   Stage
	fail    *failure
	err     error // the dial's error, when it failed
	dialFn  DialFunc
}

// DialFunc opens a network connection, as net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// connectAll opens a TCP connection to every address of every host at once, each with its own deadline, in the
// order libpq would try them. The connections that succeed are kept for the attempts that follow.
func connectAll(ctx context.Context, eps []*endpoint, timeout time.Duration, dial DialFunc, tr *tracer) []*dialed {
	var all []*dialed
	for _, ep := range eps {
		if ep.fail != nil {
			continue
		}
		port := strconv.Itoa(int(ep.target.Port))
		if ep.target.Unix {
			all = append(all, &dialed{ep: ep, network: "unix", address: filepath.Join(ep.target.Host, ".s.PGSQL."+port), dialFn: dial})
			continue
		}
		for _, a := range ep.addrs {
			all = append(all, &dialed{ep: ep, network: "tcp", address: net.JoinHostPort(a.String(), port), dialFn: dial})
		}
	}
	var wg sync.WaitGroup
	for _, d := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.dial(ctx, timeout, tr)
		}()
	}
	wg.Wait()
	return all
}

func (d *dialed) dial(ctx context.Context, timeout time.Duration, tr *tracer) {
	d.stage = Stage{Name: StageTCP, Address: d.address}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := d.dialFn(dctx, d.network, d.address)
	d.stage.DurationMS = ms(time.Since(start))
	if err != nil {
		d.err = err
		d.stage.Status, d.stage.Detail = StageFail, err.Error()
		d.fail = d.locate(networkFailure(StageTCP, err, false))
		if isTimeout(err) || dctx.Err() != nil {
			d.stage.Detail = "no answer within " + timeout.String() + " (SYN unanswered)"
		}
		tr.event("-", "connect %s: %v", d.address, err)
		return
	}
	d.conn = conn
	d.stage.Status, d.stage.Detail = StageOK, "connected"
	if d.network == "unix" {
		d.stage.Detail = "connected (unix-domain socket)"
	}
	tr.event("-", "connected to %s in %.1f ms", d.address, d.stage.DurationMS)
}

// ip is the address dialed, when it is an IP address.
func (d *dialed) ip() string {
	if h, _, err := net.SplitHostPort(d.address); err == nil {
		if a, err := netip.ParseAddr(h); err == nil {
			return a.String()
		}
	}
	return ""
}

// locate says where a failure happened: host, address and address:port (or socket path), for the steps and
// the findings.
func (d *dialed) locate(f *failure) *failure {
	f.host, f.address, f.endpoint = d.ep.name(), d.ip(), d.address
	return f
}

// redial opens one more connection to the same address, within ctx's deadline: for a retry (allow's TLS try, a
// spoilt nudge) or a side question (does TLS admit the client, what is this silent peer).
func (d *dialed) redial(ctx context.Context) (net.Conn, error) {
	return d.dialFn(ctx, d.network, d.address)
}
