package settings

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// Warning codes.
const (
	WarnSSLModeUnverified     = "settings.sslmode_unverified"
	WarnNoConnectTimeout      = "settings.no_connect_timeout"
	WarnPassfileInsecure      = "settings.passfile_insecure"
	WarnPasswordInEnvironment = "settings.password_in_environment"
	WarnKeywordUnsupported    = "settings.keyword_unsupported"
)

func (l *loader) warnings(s *Settings) []Warning {
	var ws []Warning
	add := func(code, format string, args ...any) {
		ws = append(ws, Warning{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	// require verifies the chain when a root certificate is configured (libpq
	// then behaves as verify-ca).
	unverified := slices.Contains([]string{"disable", "allow", "prefer"}, s.SSLMode) ||
		(s.SSLMode == "require" && s.SSLRootCert == "")
	if unverified {
		for _, t := range s.Targets {
			if isPublic(t) {
				add(WarnSSLModeUnverified, "sslmode=%s does not verify the server's identity, and %s is reached over public networks: anyone on the path can impersonate the server and read the password and data; use sslmode=verify-full (sslrootcert=system for a public CA)", s.SSLMode, t.Host)
				break
			}
		}
	}
	if s.ConnectTimeout == 0 {
		add(WarnNoConnectTimeout, "connect_timeout is not set: libpq would wait forever at the TCP level for a server that does not answer; pgtriage applies its own default deadline")
	}
	if l.insecurePassfile != "" {
		add(WarnPassfileInsecure, "%s", l.insecurePassfile)
	}
	if s.Password.Source == (Source{SourceEnvironment, "PGPASSWORD"}) {
		add(WarnPasswordInEnvironment, "the password comes from PGPASSWORD: other processes of the same user can read a process's environment; use a password file (~/.pgpass, mode 0600) instead")
	}
	for _, p := range l.params() {
		if keywords[p.Keyword].unsupported {
			add(WarnKeywordUnsupported, "%s (from %s) is a libpq setting that pgx does not implement; pgtriage connects without it", p.Keyword, p.Source)
		}
	}
	return ws
}

// isPublic reports whether a target is reached over public networks: not a
// Unix socket, loopback, private (RFC 1918, ULA), link-local, or a name that
// cannot be public (localhost, single-label names such as container service
// names, .local/.internal/.lan/.home.arpa).
func isPublic(t Target) bool {
	if t.Unix {
		return false
	}
	h := t.Host
	if t.HostAddr != "" {
		h = t.HostAddr
	}
	h, _, _ = strings.Cut(h, "%") // IPv6 zone
	if ip := net.ParseIP(h); ip != nil {
		return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "localhost" || !strings.Contains(h, ".") {
		return false
	}
	for _, suffix := range []string{".localhost", ".local", ".internal", ".lan", ".home.arpa"} {
		if strings.HasSuffix(h, suffix) {
			return false
		}
	}
	return true
}
