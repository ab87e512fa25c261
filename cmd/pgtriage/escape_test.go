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

// TestUntrustedTextEscaped: escape sequences in a real server's error message (a database name), a certificate's
// names, an application name, a log line and a scenario file reach check, watch, explain and rehearse, and none
// reaches the terminal raw: each is written out as \x1b.
func TestUntrustedTextEscaped(t *testing.T) {
	pgtest.Isolate(t)
	const evilName = "evil\x1b]0;pwned\x07.example.com"
	c := pgtest.Start(t, pgtest.Options{
		ServerCert: func(ca *pgtest.CA) (string, string) {
			return ca.Issue(t, []string{"localhost", evilName}, time.Time{}, time.Time{})
		},
		Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}},
	})
	conn := c.ConnString("host=localhost", "user=app", "password=s3cret-pw", "sslmode=require", "connect_timeout=10",
		"dbname=\x1b[2Jorders\rVerdict: ok", "application_name=\x1b[31mred")
	raw := func(what, out string) {
		t.Helper()
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Errorf("%s: a raw control character reaches the terminal:\n%q", what, out)
		}
	}

	out, errOut, code := run(t, deps{}, "check", conn)
	if code != 1 || !strings.Contains(out, `\x1b[2Jorders\rVerdict: ok`) || !strings.Contains(out, `evil\x1b]0;pwned\x07.example.com`) ||
		!strings.Contains(out, `application_name=\x1b[31mred`) {
		t.Errorf("check: exit %d, want the database error, the certificate names and the application name escaped:\n%s\n%s", code, out, errOut)
	}
	raw("check", out+errOut)

	out, errOut, _ = run(t, deps{}, "watch", "--for", "3s", conn)
	if !strings.Contains(out, `\x1b[2Jorders\rVerdict: ok`) {
		t.Errorf("watch: want the database error escaped:\n%s\n%s", out, errOut)
	}
	raw("watch", out+errOut)

	out, errOut, code = run(t, deps{}, "explain", "2026-01-02 03:04:05 UTC FATAL:  password authentication failed for user \"\x1b[31mapp\x1b[0m\"\r")
	if code != 0 || !strings.Contains(out, `\x1b[31mapp`) {
		t.Errorf("explain: exit %d\n%s\n%s", code, out, errOut)
	}
	raw("explain", out+errOut)

	scenario := filepath.Join(t.TempDir(), "evil.yaml")
	if err := os.WriteFile(scenario, []byte("name: \"evil\\e[2J\"\nsteps:\n  - at: 0s\n    add: [{kind: blackhole}]\n    for: 100ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, _ = run(t, deps{}, "rehearse", scenario, "--upstream", fmt.Sprintf("%s:%d", c.Host, c.Port), "--listen", "127.0.0.1:0",
		"--warmup", "0s", "--cooldown", "0s")
	if !strings.Contains(out, `Scenario evil\x1b[2J`) {
		t.Errorf("rehearse: want the scenario's name escaped:\n%s\n%s", out, errOut)
	}
	raw("rehearse", out+errOut)
}
