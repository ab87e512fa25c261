package faultproxy_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// sslmodes are the two ways a client speaks to the event loop: plain TCP,
// and TLS terminated by the proxy.
var sslmodes = []string{"disable", "require"}

// A result far larger than the sockets' buffers crosses the event loop
// whole: the loop waits for the client to take what it cannot write yet.
func TestEventLoopLargeResult(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	for _, mode := range sslmodes {
		t.Run(mode, func(t *testing.T) { largeResult(t, p, mode) })
	}
}

func largeResult(t *testing.T, p *faultproxy.Proxy, sslmode string) {
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode="+sslmode))
	var n int
	var md5 string
	const size = 20 << 20
	if err := conn.QueryRow(testCtx(t), "select length(s), md5(s) from (select repeat('abcdefgh', $1) as s) x", size/8).Scan(&n, &md5); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := conn.QueryRow(testCtx(t), "select repeat('abcdefgh', $1)", size/8).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if len(s) != n || n != size {
		t.Errorf("got %d bytes through the proxy, want %d", len(s), size)
	}
	var again string
	if err := conn.QueryRow(testCtx(t), "select md5($1)", s).Scan(&again); err != nil || again != md5 {
		t.Errorf("md5 through the proxy %q (%v), server's %q", again, err, md5)
	}
}

// Sessions busy with queries while faults come and go, some of which leave
// the sessions in the event loop (refuse acts only on new connections) and
// some of which take them out of it (latency): no query fails or gets
// another's answer, and a terminate still finds a message boundary.
func TestEventLoopFaultsOnBusySessions(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	for _, mode := range sslmodes {
		t.Run(mode, func(t *testing.T) { faultsOnBusySessions(t, p, mode) })
	}
}

func faultsOnBusySessions(t *testing.T, p *faultproxy.Proxy, sslmode string) {
	const clients = 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		conn := connect(t, proxyConnString(p, "user=postgres", "sslmode="+sslmode))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				want := fmt.Sprintf("%d-%d-%s", i, k, "x")
				var got string
				if err := conn.QueryRow(testCtx(t), "select $1::text || repeat('y', $2)", want, k%3000).Scan(&got); err != nil {
					errs <- err
					return
				}
				if len(got) != len(want)+k%3000 || got[:len(want)] != want {
					errs <- fmt.Errorf("query %d of client %d answered %.40q", k, i, got)
					return
				}
			}
		}()
	}
	for round := range 20 {
		f := faultproxy.Fault{Kind: faultproxy.KindRefuse}
		if round%4 == 3 {
			f = faultproxy.Fault{Kind: faultproxy.KindLatency, Delay: faultproxy.Duration(time.Millisecond)}
		}
		f = addFault(t, p, f)
		time.Sleep(20 * time.Millisecond) // lets queries run under each state; not a synchronisation
		p.Remove(f.ID)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A session in the loop, ended by a terminate at a message boundary.
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode="+sslmode))
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindTerminate})
	_, err := conn.Exec(testCtx(t), "select 1")
	if e := pgError(t, err); e.Code != "57P01" {
		t.Errorf("after terminate: %v", err)
	}
}
