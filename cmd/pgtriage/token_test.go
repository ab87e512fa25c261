package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestTokenNeverPrinted gives access tokens as the password to every command that takes a connection (check in
// each format, with the trace, explain on pasted text, watch with its event log) and greps all they print for any
// part of the token. It also checks the verdicts the tokens draw and watch's warning ahead of expiry.
func TestTokenNeverPrinted(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	const aud = "https://ossrdbms-aad.database.windows.net"
	expiring := pgtest.EntraToken(aud, time.Now().Add(4*time.Minute), "app@contoso.com")
	expired := pgtest.EntraToken(aud, time.Now().Add(-time.Hour), "app@contoso.com")
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: expiring}}})
	rdsToken := pgtest.RDSToken(fmt.Sprintf("%s:%d", c.Host, c.Port), "app", time.Now().Add(-time.Hour), 15*time.Minute)
	conn := func(tok string) string {
		return c.ConnString("user=app", "password="+tok, "dbname=postgres", "sslmode=disable")
	}
	var printed strings.Builder
	cli := func(wantCode int, want string, args ...string) {
		t.Helper()
		out, errOut, code := run(t, deps{}, args...)
		printed.WriteString(out + errOut)
		if code != wantCode || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want %d and %q:\n%s\n%s", args[0], code, wantCode, want, out, errOut)
		}
	}
	cli(0, "auth.token_expiring", "check", conn(expiring))
	cli(0, "auth.token_expiring", "check", "--format", "json", "--trace", conn(expiring))
	cli(1, "Verdict: auth.token_expired", "check", "--trace", conn(expired))
	cli(1, `"code": "auth.token_expired"`, "check", "--format", "json", conn(rdsToken))
	cli(0, "auth.password_failed", "explain", `FATAL: password authentication failed for user "app" `+conn(expired))

	events := filepath.Join(t.TempDir(), "events.jsonl")
	cli(0, "TOKEN", "watch", "--for", "1s", "--interval", "200ms", "--events", events, conn(expiring))
	log, err := os.ReadFile(events)
	if err != nil || !strings.Contains(string(log), `"type":"token_expiring"`) {
		t.Errorf("no token_expiring event (%v):\n%s", err, log)
	}
	printed.Write(log)

	for _, tok := range []string{expiring, expired, rdsToken} {
		for _, part := range pgtest.TokenSecrets(tok) {
			if strings.Contains(printed.String(), part) {
				t.Fatalf("a command printed a secret part of a token (%q):\n%s", part, printed.String())
			}
		}
	}
}
