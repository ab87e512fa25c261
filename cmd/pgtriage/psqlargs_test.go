package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestCheckCommandLine: psql's and pg_isready's command lines, and the mistakes people make with them, against a
// real server. Each line either connects (exit 0), is refused by the server (exit 1) or is a usage error (exit 3)
// whose message says what to type instead.
func TestCheckCommandLine(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	c := pgtest.Start(t, pgtest.Options{
		Roles:     []pgtest.Role{{Name: "app", Password: "s3cret-pw"}},
		Databases: []pgtest.Database{{Name: "orders"}},
	})
	t.Setenv("PGPASSWORD", "s3cret-pw")
	t.Setenv("PGSSLMODE", "disable")
	port := fmt.Sprint(c.Port)
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string // in stdout+stderr
		wantOut string   // exact stdout, when it matters
	}{
		{"psql flags", []string{"check", "-h", c.Host, "-p", port, "-U", "app", "-d", "orders"}, 0,
			[]string{"app@" + c.Host + ":" + port + "/orders", "host=" + c.Host, "command-line option -h", "command-line option -U", "dbname=orders", "command-line option -d"}, ""},
		{"long flags", []string{"check", "--host", c.Host, "--port", port, "--username", "app", "--dbname", "orders", "--timeout", "7"}, 0,
			[]string{"connect_timeout=7", "command-line option -t"}, ""},
		{"bare dbname and user", []string{"check", "-h", c.Host, "-p", port, "orders", "app"}, 0, []string{"app@" + c.Host + ":" + port + "/orders"}, ""},
		{"-d takes the first argument's place: the bare word is the user", []string{"check", "-h", c.Host, "-p", port, "-d", "orders", "app"}, 0, []string{"app@" + c.Host + ":" + port + "/orders"}, ""},
		{"-d with a connection string", []string{"check", "-d", c.ConnString("user=app", "dbname=orders")}, 0, []string{"app@"}, ""},
		{"quiet success", []string{"check", "-q", "-h", c.Host, "-p", port, "-U", "app", "orders"}, 0, nil, "\x00"},
		{"quiet refusal", []string{"check", "-q", "-h", c.Host, "-p", port, "-U", "nosuchrole", "orders"}, 1, nil, "\x00"},
		{"server refuses a wrong database", []string{"check", "-h", c.Host, "-p", port, "-U", "app", "nosuchdb"}, 1, []string{"nosuchdb"}, ""},
		{"help on -?", []string{"check", "-?"}, 0, []string{"Usage:", "-h, --host", "-?, --help"}, ""},
		{"help on --help", []string{"check", "--help"}, 0, []string{"-U, --username", "-t, --timeout"}, ""},
		{"host:port typed as an argument", []string{"check", "127.0.0.1:5432"}, 3,
			[]string{`write postgres://127.0.0.1:5432/ or "host=127.0.0.1 port=5432"`, "-h 127.0.0.1 -p 5432"}, ""},
		{"user@host:port/db typed as an argument", []string{"check", "app@db.example.com:6432/orders"}, 3,
			[]string{`postgres://app@db.example.com:6432/orders or "host=db.example.com port=6432 user=app dbname=orders"`}, ""},
		{"IPv6 address", []string{"check", "[::1]:5432"}, 3, []string{`postgres://[::1]:5432/ or "host=::1 port=5432"`}, ""},
		{"unknown long flag", []string{"check", "--hots", "x"}, 3, []string{"unknown flag: --hots; did you mean --host? (see pgtriage check --help)"}, ""},
		{"unknown shorthand in the wrong case", []string{"check", "-u", "app"}, 3, []string{"did you mean -U? (see pgtriage check --help)"}, ""},
		{"unknown flag with no near name", []string{"check", "--zzzzzzzz"}, 3, []string{"unknown flag: --zzzzzzzz (see pgtriage check --help)"}, ""},
		{"three arguments", []string{"check", "a", "b", "c"}, 3, []string{"accepts at most 2 arg"}, ""},
		{"-d, -U and a bare word", []string{"check", "-d", "orders", "-U", "app", "extra"}, 3, []string{`extra argument "extra"`}, ""},
		{"negative timeout", []string{"check", "-t", "-1"}, 3, []string{"-t/--timeout must be 0 or more"}, ""},
		{"bad port from a flag names the flag", []string{"check", "-p", "notaport", "-h", c.Host}, 3, []string{"command-line option -p"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, deps{}, tt.args...)
			if code != tt.code {
				t.Fatalf("%q: exit %d, want %d\n%s%s", tt.args, code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("%q: output lacks %q:\n%s%s", tt.args, w, out, errOut)
				}
			}
			if tt.wantOut == "\x00" && out != "" {
				t.Errorf("%q: -q printed %q", tt.args, out)
			}
			if strings.Contains(out+errOut, "s3cret-pw") {
				t.Errorf("password in the output")
			}
		})
	}
}

// TestCheckPrecedenceAsPsql runs the real psql and check with the same command lines, where -h/-p and the
// connection string (and PGPORT) disagree, and wants the same server to answer. Measured with psql 15 (Debian
// 15.18): the connection string's values win over -h/-p/-U (psql hands libpq the flags ahead of the expanded
// dbname), and the flags win over PG* variables and a service file.
func TestCheckPrecedenceAsPsql(t *testing.T) {
	pgtest.Isolate(t)
	psql, err := exec.LookPath("psql")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("psql not found (CI=true: CI must install postgresql-client)")
		}
		t.Skip("psql not found: install postgresql-client")
	}
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	t.Setenv("PGPASSWORD", "s3cret-pw")
	t.Setenv("PGCONNECT_TIMEOUT", "5")
	dead := freePort(t)
	live := fmt.Sprint(c.Port)
	service := filepath.Join(t.TempDir(), "pg_service.conf")
	if err := os.WriteFile(service, []byte("[svc]\nhost="+c.Host+"\nport="+dead+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		serves bool // whether the live server is the one reached
	}{
		{"connection string beats -p", nil, []string{"-h", c.Host, "-p", dead, "host=" + c.Host + " port=" + live + " user=app dbname=postgres sslmode=disable"}, true},
		{"-p loses to the string's port", nil, []string{"-h", c.Host, "-p", live, "host=" + c.Host + " port=" + dead + " user=app dbname=postgres sslmode=disable"}, false},
		{"URL beats -p", nil, []string{"-p", dead, "postgres://app@" + c.Host + ":" + live + "/postgres?sslmode=disable"}, true},
		{"-p beats PGPORT", map[string]string{"PGPORT": dead}, []string{"-h", c.Host, "-p", live, "-U", "app", "-d", "postgres"}, true},
		{"-p beats a service file", map[string]string{"PGSERVICEFILE": service, "PGSERVICE": "svc"}, []string{"-p", live, "-U", "app", "-d", "postgres"}, true},
		{"the service file alone", map[string]string{"PGSERVICEFILE": service, "PGSERVICE": "svc"}, []string{"-U", "app", "-d", "postgres"}, false},
		{"PGPORT alone", map[string]string{"PGPORT": dead}, []string{"-h", c.Host, "-U", "app", "-d", "postgres"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := os.Environ()
			for k, v := range tt.env {
				t.Setenv(k, v)
				env = append(env, k+"="+v)
			}
			cmd := exec.Command(psql, append([]string{"-X", "-A", "-t", "-c", "select 1"}, tt.args...)...)
			cmd.Env = env
			psqlOut, psqlErr := cmd.CombinedOutput()
			if (psqlErr == nil) != tt.serves {
				t.Fatalf("psql %q: err %v, want served=%v: the measurement this test is built on changed\n%s", tt.args, psqlErr, tt.serves, psqlOut)
			}
			out, errOut, code := run(t, deps{}, append([]string{"check"}, tt.args...)...)
			if (code == 0) != tt.serves {
				t.Errorf("check %q: exit %d, psql served=%v\n%s%s", tt.args, code, tt.serves, out, errOut)
			}
		})
	}
}
