package faultproxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestClientTLS: the proxy terminates TLS with the certificate it is given;
// pgx verifies it against the CA with sslmode=verify-full.
func TestClientTLS(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	ca := pgtest.NewCA(t)
	certFile, keyFile := ca.Issue(t, []string{"localhost", "127.0.0.1"}, zeroTime, zeroTime)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, c, faultproxy.Config{ClientTLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	conn := connect(t, proxyConnString(p, "user=app", "password=secret", "sslmode=verify-full", "sslrootcert="+ca.File))
	if !conn.PgConn().Conn().(*tls.Conn).ConnectionState().HandshakeComplete {
		t.Error("no TLS towards the client")
	}
	// With no certificate given the proxy makes its own.
	p2 := startProxy(t, c, faultproxy.Config{})
	conn2 := connect(t, proxyConnString(p2, "user=app", "password=secret", "sslmode=require"))
	if _, ok := conn2.PgConn().Conn().(*tls.Conn); !ok {
		t.Error("no TLS with the generated certificate")
	}
	// NoClientTLS answers 'N', as a server without ssl.
	p3 := startProxy(t, c, faultproxy.Config{NoClientTLS: true})
	if err := connectErr(t, proxyConnString(p3, "user=app", "password=secret", "sslmode=require")); err.Error() == "connected" {
		t.Error("sslmode=require connected through a proxy that refuses TLS")
	}
	connect(t, proxyConnString(p3, "user=app", "password=secret", "sslmode=prefer"))
}

// TestUpstreamTLS: the proxy speaks TLS to a server that only accepts TLS.
func TestUpstreamTLS(t *testing.T) {
	c := startCluster(t, pgtest.Options{TLS: true, HBA: []string{"local all all trust", "hostssl all all 127.0.0.1/32 scram-sha-256"}})
	roots := x509.NewCertPool()
	roots.AddCert(c.CA.Cert)
	p := startProxy(t, c, faultproxy.Config{UpstreamTLS: &tls.Config{RootCAs: roots}})
	conn := connect(t, proxyConnString(p, "user=app", "password=secret", "sslmode=disable"))
	var ssl bool
	if err := conn.QueryRow(testCtx(t), "select ssl from pg_stat_ssl where pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("upstream session ssl=%v, %v", ssl, err)
	}
	// TLS on both sides: SCRAM's channel binding ties the login to the TLS session, so it exposes the proxy in the
	// middle, on purpose. With the clients' default channel_binding=prefer the server offers SCRAM-SHA-256-PLUS and
	// the binding check fails (hiding the offer would not help: the client would then say it supports binding but
	// thinks the server does not, which the server also refuses). channel_binding=disable works, as documented.
	err := connectErr(t, proxyConnString(p, "user=app", "password=secret", "sslmode=require"))
	if pe := pgError(t, err); pe.Code != "28000" || !strings.Contains(pe.Message, "channel binding") {
		t.Errorf("TLS both ways, channel_binding=prefer: %v, want the server's channel binding error", pe)
	}
	tlsConn := connect(t, proxyConnString(p, "user=app", "password=secret", "sslmode=require", "channel_binding=disable"))
	if err := tlsConn.QueryRow(testCtx(t), "select ssl from pg_stat_ssl where pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("TLS both ways, channel_binding=disable: upstream ssl=%v, %v", ssl, err)
	}
	// Without TLS to the upstream the server's pg_hba refuses.
	p2 := startProxy(t, c, faultproxy.Config{})
	pe := pgError(t, connectErr(t, proxyConnString(p2, "user=app", "password=secret", "sslmode=disable")))
	if pe.Code != "28000" {
		t.Errorf("plain to a hostssl-only server: %v", pe)
	}
}
