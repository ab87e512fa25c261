package faultproxy_test

import (
	"net"
	"strconv"

	"github.com/pgtriage/pgtriage/faultproxy"
)

func itoa(i int) string { return strconv.Itoa(i) }

// proxyConnString is a connection string for p with the extra settings kv.
func proxyConnString(p *faultproxy.Proxy, kv string) string {
	host, port, _ := net.SplitHostPort(p.Addr())
	return "host=" + host + " port=" + port + " connect_timeout=10 " + kv
}
