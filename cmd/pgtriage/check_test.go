package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

func isolateEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PG") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PGPASSFILE", filepath.Join(home, "no-pgpass"))
}

func run(t *testing.T, d deps, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = executeWith(d, args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestCheckJSONContract connects to a real server and checks the JSON shape of DESIGN.md, field by field.
func TestCheckJSONContract(t *testing.T) {
	isolateEnv(t)
	c := pgtest.Start(t, pgtest.Options{TLS: true, Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	conn := c.ConnString("host=localhost", "user=app", "password=s3cret-pw", "dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile)
	out, errOut, code := run(t, deps{}, "check", "--format", "json", conn)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out, "s3cret-pw") {
		t.Fatalf("password in the output:\n%s", out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if got["status"] != "ok" || !strings.HasPrefix(got["target"].(string), "app@localhost:") {
		t.Errorf("status/target: %v %v", got["status"], got["target"])
	}
	diag := got["diagnosis"].(map[string]any)
	for _, k := range []string{"code", "category", "transient", "summary", "steps"} {
		if _, ok := diag[k]; !ok {
			t.Errorf("diagnosis lacks %q", k)
		}
	}
	names := map[string]bool{}
	for _, s := range got["stages"].([]any) {
		st := s.(map[string]any)
		names[st["name"].(string)] = true
		for _, k := range []string{"name", "status", "duration_ms"} {
			if _, ok := st[k]; !ok {
				t.Errorf("stage lacks %q: %v", k, st)
			}
		}
	}
	for _, n := range []string{"settings", "dns", "tcp", "protocol", "tls", "startup", "auth", "server"} {
		if !names[n] {
			t.Errorf("no %s stage", n)
		}
	}
	srv := got["server"].(map[string]any)
	conns := srv["connections"].(map[string]any)
	for _, k := range []string{"used", "max", "reserved"} {
		if _, ok := conns[k]; !ok {
			t.Errorf("server.connections lacks %q", k)
		}
	}
	if _, ok := srv["in_recovery"]; !ok || srv["client_address"] == "" {
		t.Errorf("server facts: %v", srv)
	}
	if _, ok := got["findings"].([]any); !ok {
		t.Errorf("findings must be a list: %v", got["findings"])
	}
}

func TestCheckText(t *testing.T) {
	isolateEnv(t)
	t.Setenv("NO_COLOR", "1")
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	out, _, code := run(t, deps{}, "check", "--trace", c.ConnString("user=app", "password=wrong-pw", "dbname=postgres"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"✗ auth", "Verdict: auth.password_failed", "(login; persistent", "Next steps:\n  1. ", "Trace:", "StartupMessage", "password=********"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "wrong-pw") || strings.Contains(out, "\x1b[") {
		t.Errorf("password or colour in the output:\n%s", out)
	}
}

func TestCheckExitCodes(t *testing.T) {
	isolateEnv(t)
	dns := pgtest.StartDNS(t, map[string][]netip.Addr{})
	d := deps{resolver: dns.Resolver()}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"check", "host=nosuch.pgtriage.test user=app"}, 2, "dns.not_found"},
		{[]string{"check", "host=localhost sslmode=requre password=hunter2"}, 3, "config.invalid"},
		{[]string{"check", "postgres://app:hunter2@localhost:99999/db"}, 3, "config.invalid"},
		{[]string{"check", "--format", "yaml"}, 3, "--format must be text or json"},
		{[]string{"check", "a", "b"}, 3, "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		out, errOut, code := run(t, d, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%q: exit %d, want %d with %q\n%s%s", tt.args, code, tt.code, tt.want, out, errOut)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Errorf("%q: password in the output:\n%s%s", tt.args, out, errOut)
		}
	}
}
