package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/settings"
)

// expiryWarning is how close to its expiry a server certificate draws a warning.
const expiryWarning = 30 * 24 * time.Hour

// tlsResult is what the handshake showed, whether or not the certificate passed.
type tlsResult struct {
	conn    *tls.Conn
	summary string // "TLSv1.3 TLS_AES_128_GCM_SHA256"
	names   []string
	expires time.Time
}

// handshake runs the TLS handshake over conn and then verifies the server certificate as sslmode asks. It verifies
// by itself, after the handshake, so that a failure names the exact reason (untrusted chain, wrong names, expired)
// and the certificate's facts can be shown whatever the outcome.
func handshake(conn net.Conn, s *settings.Settings, host string, direct bool, deadline time.Time, rec *recorder) (*tlsResult, []Finding, *failure) {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // verified below, as sslmode asks, so that failures can be named precisely
		MinVersion:         tls.VersionTLS12,
	}
	if base := s.Config.TLSConfig; base != nil {
		cfg.Certificates = base.Certificates
		cfg.GetClientCertificate = base.GetClientCertificate
		cfg.ServerName = base.ServerName
	}
	if _, err := netip.ParseAddr(host); err == nil || strings.HasPrefix(host, "/") {
		cfg.ServerName = ""
	} else if cfg.ServerName == "" && s.Config.TLSConfig != nil {
		cfg.ServerName = host
	}
	if direct {
		cfg.NextProtos = []string{"postgresql"}
	}
	tc := tls.Client(conn, cfg)
	_ = tc.SetDeadline(deadline)
	if err := tc.Handshake(); err != nil {
		var rh tls.RecordHeaderError
		switch {
		case errors.As(err, &rh):
			return nil, nil, notPostgres(StageTLS, rh.RecordHeader[:])
		case isTimeout(err):
			return nil, nil, &failure{stage: StageTLS, code: catalog.ServerUnresponsive, answered: !direct,
				evidence: "the TLS handshake did not complete before the deadline"}
		}
		f := networkFailure(StageTLS, err, !direct)
		var alert tls.AlertError
		switch {
		case direct && f.code == catalog.ConnReset:
			// A server before PostgreSQL 17 reads the ClientHello as a startup packet and hangs up.
			f.code = catalog.TLSHandshakeFailed
			f.evidence = "the server closed the connection during a direct TLS handshake (" + err.Error() +
				"): servers before PostgreSQL 17, and most poolers, do not accept sslnegotiation=direct; use sslnegotiation=postgres"
		case errors.As(err, &alert) || f.code == catalog.Unknown:
			// An alert from the server, or a local refusal (no common version or cipher).
			f.code, f.answered = catalog.TLSHandshakeFailed, true
			f.evidence = "TLS handshake failed: " + err.Error()
		}
		return nil, nil, f
	}
	rec.setAnswered()
	st := tc.ConnectionState()
	res := &tlsResult{conn: tc, summary: tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite)}
	if direct && st.NegotiatedProtocol != "postgresql" {
		_ = tc.Close()
		return nil, nil, &failure{stage: StageTLS, code: catalog.ProtocolNotPostgres, answered: false,
			evidence: fmt.Sprintf("direct TLS: the server did not negotiate ALPN \"postgresql\" (got %q): it is not PostgreSQL 17 or later", st.NegotiatedProtocol)}
	}
	if len(st.PeerCertificates) == 0 {
		rec.event("<", "TLS %s without a server certificate", res.summary)
		return res, nil, nil
	}
	leaf := st.PeerCertificates[0]
	res.names = certNames(leaf)
	res.expires = leaf.NotAfter
	rec.event("<", "%s, certificate for %s issued by %q, valid until %s", res.summary, strings.Join(res.names, ", "),
		leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))

	var findings []Finding
	if left := time.Until(leaf.NotAfter); left > 0 && left < expiryWarning {
		findings = append(findings, Finding{Code: "tls.cert_expires_soon", Severity: "warning",
			Summary: fmt.Sprintf("the server certificate expires in %d days (%s)", int(left.Hours()/24), leaf.NotAfter.UTC().Format(time.DateOnly))})
	}
	if f := verifyCertificate(st.PeerCertificates, s, host, res); f != nil {
		_ = tc.Close()
		return nil, findings, f
	}
	return res, findings, nil
}

// verifyCertificate checks the chain, the validity period and the names, as much as sslmode asks for: require
// checks nothing unless a root certificate file exists (then it is verify-ca, as in libpq), verify-ca the chain and
// the dates, verify-full the names too.
func verifyCertificate(chain []*x509.Certificate, s *settings.Settings, host string, res *tlsResult) *failure {
	mode := s.SSLMode
	rootFile := s.SSLRootCert
	roots, rootErr := loadRoots(rootFile)
	if mode == "require" && roots != nil {
		mode = "verify-ca"
	}
	if mode != "verify-ca" && mode != "verify-full" {
		return nil
	}
	facts := catalog.Facts{catalog.FactCertNames: strings.Join(res.names, ", "), catalog.FactCertNotAfter: res.expires.UTC().Format(time.DateOnly)}
	fail := func(code catalog.Code, evidence string) *failure {
		return &failure{stage: StageTLS, code: code, answered: true, evidence: evidence, facts: facts}
	}
	if rootErr != nil {
		return fail(catalog.TLSUntrustedCert, rootErr.Error())
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter}
	err := verifyAt(leaf, opts, time.Now())
	if err == nil {
		return checkName(mode, leaf, host, res, fail)
	}
	// Outside its validity period the chain cannot be judged now: judge it at a moment inside the period, so that
	// an expired certificate from a trusted CA and an untrusted one are told apart.
	now := time.Now()
	outside := now.After(leaf.NotAfter) || now.Before(leaf.NotBefore)
	if outside && verifyAt(leaf, opts, leaf.NotAfter.Add(-time.Second)) == nil {
		if now.Before(leaf.NotBefore) {
			return fail(catalog.TLSExpiredCert, fmt.Sprintf("the server certificate is not valid before %s (check the clocks)", leaf.NotBefore.UTC().Format(time.RFC3339)))
		}
		return fail(catalog.TLSExpiredCert, fmt.Sprintf("the server certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.Expired && !outside {
		return fail(catalog.TLSExpiredCert, "a certificate in the server's chain is outside its validity period: "+err.Error())
	}
	evidence := fmt.Sprintf("the server certificate (%s, issued by %q) does not verify against %s: %v",
		strings.Join(res.names, ", "), leaf.Issuer.CommonName, describeRoots(rootFile), err)
	if outside {
		evidence += fmt.Sprintf(" (it is also outside its validity period, %s to %s)", leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return fail(catalog.TLSUntrustedCert, evidence)
}

func verifyAt(leaf *x509.Certificate, opts x509.VerifyOptions, at time.Time) error {
	opts.CurrentTime = at
	_, err := leaf.Verify(opts)
	return err
}

// checkName is verify-full's last step: the certificate must name the host the client connected to.
func checkName(mode string, leaf *x509.Certificate, host string, res *tlsResult, fail func(catalog.Code, string) *failure) *failure {
	if mode == "verify-full" {
		if err := leaf.VerifyHostname(host); err != nil {
			return fail(catalog.TLSHostnameMismatch, fmt.Sprintf("server certificate for %q does not match host name %q", strings.Join(res.names, ", "), host))
		}
	}
	return nil
}

// loadRoots reads the trusted roots as libpq does: "system" means the system's store, otherwise a PEM file
// (default ~/.postgresql/root.crt). A missing file gives libpq's own message.
func loadRoots(file string) (*x509.CertPool, error) {
	if file == "system" {
		return x509.SystemCertPool()
	}
	if file == "" {
		home, _ := os.UserHomeDir()
		file = home + "/.postgresql/root.crt"
	}
	pem, err := settings.ReadFile(file, settings.MaxCertFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("root certificate file %q does not exist: either provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification", file)
	}
	if err != nil {
		return nil, fmt.Errorf("root certificate file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("root certificate file %q holds no PEM certificate", file)
	}
	return pool, nil
}

func describeRoots(file string) string {
	switch file {
	case "system":
		return "the system's trusted roots"
	case "":
		return "~/.postgresql/root.crt"
	}
	return fmt.Sprintf("the roots in %s", file)
}

// certNames lists the DNS names and addresses a certificate covers (its CN when it has no SANs).
func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	return names
}
