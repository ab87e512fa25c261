package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

func run(t *testing.T, d deps, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = executeWith(d, args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestCheckJSONContract connects to a real server and checks the JSON shape of DESIGN.md, field by field.
func TestCheckJSONContract(t *testing.T) {
	pgtest.Isolate(t)
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
	pgtest.Isolate(t)
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
	pgtest.Isolate(t)
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
		{[]string{"check", "a", "b", "c"}, 3, "accepts at most 2 arg"},
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

// TestCheckFirewallRules: a server whose pg_hba.conf has no line for 127.0.0.1 stands for a managed server's
// firewall; the rules file is evaluated for the address the server reported.
func TestCheckFirewallRules(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{
		HBA:   []string{"local all all trust", "host all all 192.0.2.1/32 scram-sha-256"},
		Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}},
	})
	conn := c.ConnString("user=app", "password=s3cret-pw", "dbname=postgres", "sslmode=disable")
	dir := t.TempDir()
	denying := filepath.Join(dir, "rules.json")
	os.WriteFile(denying, []byte(`[{"name":"office","startIpAddress":"198.51.100.0","endIpAddress":"198.51.100.255",
 "id":"/subscriptions/x/resourceGroups/prod-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders/firewallRules/office",
 "resourceGroup":"prod-rg","type":"Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"}]`), 0o644)
	allowing := filepath.Join(dir, "rules.txt")
	os.WriteFile(allowing, []byte("127.0.0.0/8\n"), 0o644)

	out, _, code := run(t, deps{}, "check", "--format", "json", "--firewall-rules", denying, conn)
	if code != 1 || !strings.Contains(out, `"code": "auth.hba_rejected"`) || !strings.Contains(out, `"client_address": "127.0.0.1"`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := "az postgres flexible-server firewall-rule create --resource-group prod-rg --name orders --rule-name allow-127-0-0-1 --start-ip-address 127.0.0.1 --end-ip-address 127.0.0.1"
	if !strings.Contains(out, "firewall.denied") || !strings.Contains(out, want) {
		t.Errorf("want a firewall.denied finding with %q:\n%s", want, out)
	}
	out, _, _ = run(t, deps{}, "check", "--format", "json", "--firewall-rules", allowing, conn)
	if !strings.Contains(out, "firewall.allowed") {
		t.Errorf("want firewall.allowed:\n%s", out)
	}
	_, errOut, code := run(t, deps{}, "check", "--firewall-rules", filepath.Join(dir, "missing.json"), conn)
	if code != 3 || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing rules file: exit %d, %s", code, errOut)
	}
}

// TestCheckProvenance: the settings come from a service file and the password from a .pgpass line, and the report
// says so for each value, without the password.
func TestCheckProvenance(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	dir := t.TempDir()
	service := filepath.Join(dir, "pg_service.conf")
	os.WriteFile(service, []byte(fmt.Sprintf("[orders]\nhost=127.0.0.1\nport=%d\nuser=app\ndbname=postgres\nsslmode=disable\n", c.Port)), 0o644)
	pass := filepath.Join(dir, "pgpass")
	os.WriteFile(pass, []byte(fmt.Sprintf("# other servers\nother:5432:*:app:nope\n127.0.0.1:%d:postgres:app:s3cret-pw\n", c.Port)), 0o600)
	t.Setenv("PGSERVICEFILE", service)
	t.Setenv("PGPASSFILE", pass)
	t.Setenv("PGCONNECT_TIMEOUT", "4")

	out, _, code := run(t, deps{}, "check", "service=orders")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"host=127.0.0.1", "service file " + service + " [orders]",
		"password from passfile " + pass + " line 3",
		"connect_timeout=4", "environment PGCONNECT_TIMEOUT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret-pw") {
		t.Errorf("password in the output:\n%s", out)
	}
	// libpq ignores a passfile others can read, and so does check: no password, and it says why.
	os.Chmod(pass, 0o644)
	out, _, code = run(t, deps{}, "check", "service=orders")
	if code != 1 || !strings.Contains(out, "auth.no_password") || !strings.Contains(out, "settings.passfile_insecure") {
		t.Errorf("exit %d, want auth.no_password with settings.passfile_insecure:\n%s", code, out)
	}
}

// TestCheckWithoutArgument: as psql, no argument means the PG* environment.
func TestCheckWithoutArgument(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	for k, v := range map[string]string{"PGHOST": c.Host, "PGPORT": fmt.Sprint(c.Port), "PGUSER": "app", "PGPASSWORD": "s3cret-pw", "PGDATABASE": "postgres", "PGSSLMODE": "disable"} {
		t.Setenv(k, v)
	}
	out, _, code := run(t, deps{}, "check", "--format", "json")
	if code != 0 || !strings.Contains(out, `"detail": "PGHOST"`) || !strings.Contains(out, "settings.password_in_environment") {
		t.Fatalf("exit %d, want 0 with values from the environment:\n%s", code, out)
	}
	if strings.Contains(out, "s3cret-pw") {
		t.Fatalf("password in the output:\n%s", out)
	}
}
