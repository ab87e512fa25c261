package pgtest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNSServer is an authoritative DNS server on 127.0.0.1 (UDP and TCP on the
// same port) that answers from a table the test controls.
type DNSServer struct {
	Addr string // "127.0.0.1:port"

	mu       sync.Mutex
	records  map[string][]netip.Addr // by lower-case fully qualified name
	cnames   map[string]string       // alias to target, both lower-case fully qualified
	servfail map[string]bool
	silent   map[string]bool
}

// StartDNS serves records until the test ends: A and AAAA answers for the
// names given (with or without the final dot, any case), an empty answer for
// other types or when a name has no address of the type asked, and NXDOMAIN
// for every other name. ServFail and Silence change the answer for a name.
func StartDNS(t testing.TB, records map[string][]netip.Addr) *DNSServer {
	t.Helper()
	d := &DNSServer{records: map[string][]netip.Addr{}, cnames: map[string]string{}, servfail: map[string]bool{}, silent: map[string]bool{}}
	for name, addrs := range records {
		d.records[fqdn(name)] = addrs
	}
	// The TCP listener needs the port that the kernel chose for UDP, which
	// another process may hold on TCP: try again with another port.
	var pc net.PacketConn
	var l net.Listener
	for attempt := 1; ; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatalf("pgtest: dns: %v", err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if attempt == 5 {
			t.Fatalf("pgtest: dns: %v", err)
		}
	}
	d.Addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: dns.HandlerFunc(d.serve)}, {Listener: l, Handler: dns.HandlerFunc(d.serve)}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			srv.Shutdown()
			<-done
		})
	}
	return d
}

// Set replaces the addresses of name; with none, the name exists but has no
// address (an empty answer rather than NXDOMAIN).
func (d *DNSServer) Set(name string, addrs ...netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.records[fqdn(name)] = addrs
}

// CNAME makes name an alias of target. A query for name is answered as a recursive resolver does: the chain of
// CNAME records from name, then the addresses of the last name of the chain (none when it has none or is
// unknown). A chain longer than 16 links or with a loop ends there, as resolvers give up on it. An empty target
// removes the alias.
func (d *DNSServer) CNAME(name, target string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if target == "" {
		delete(d.cnames, fqdn(name))
		return
	}
	d.cnames[fqdn(name)] = fqdn(target)
}

// ServFail makes every query for name answer SERVFAIL, as a broken upstream
// resolver does.
func (d *DNSServer) ServFail(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.servfail[fqdn(name)] = true
}

// Silence makes queries for name go unanswered, so that lookups time out.
func (d *DNSServer) Silence(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.silent[fqdn(name)] = true
}

// Resolver returns a pure-Go resolver that sends every query to d, never to
// the system's resolver. Names in /etc/hosts (such as localhost) are still
// answered from there: use names under .test.
func (d *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, network, d.Addr)
		},
	}
}

// serve answers one query.
func (d *DNSServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	if len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	d.mu.Lock()
	var chain []dns.RR
	for seen := 0; d.cnames[name] != "" && seen < 16; seen++ {
		target := d.cnames[name]
		chain = append(chain, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Class: dns.ClassINET, Rrtype: dns.TypeCNAME, Ttl: 5}, Target: target})
		name = target
	}
	addrs, found := d.records[name]
	servfail, silent := d.servfail[name], d.silent[name]
	d.mu.Unlock()
	switch {
	case silent:
		return
	case servfail:
		m.SetRcode(req, dns.RcodeServerFailure)
	case !found && len(chain) == 0:
		m.SetRcode(req, dns.RcodeNameError)
	case !found:
		// An alias of an unknown name: the chain and NXDOMAIN, as a recursive resolver answers.
		m.SetRcode(req, dns.RcodeNameError)
		m.Answer = chain
	default:
		m.SetReply(req)
		m.Answer = chain
		hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Rrtype: q.Qtype, Ttl: 5}
		for _, a := range addrs {
			switch {
			case q.Qtype == dns.TypeA && a.Is4():
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
			case q.Qtype == dns.TypeAAAA && a.Is6():
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
			}
		}
	}
	// Go's resolver takes an empty answer that is neither authoritative nor
	// recursive for a lame referral, not for "no such address".
	m.Authoritative, m.RecursionAvailable = true, true
	w.WriteMsg(m)
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(name)) }
