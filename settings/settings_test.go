package settings

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// isolate clears every environment variable Load reads and points HOME at an
// empty directory, so that the machine's settings cannot leak into a test.
func isolate(t testing.TB) string {
	t.Helper()
	unset := func(env string) {
		t.Setenv(env, "") // restores the old value after the test
		os.Unsetenv(env)  // pgx treats some variables (PGSSLCERTMODE) as set even when empty
	}
	for _, k := range keywords {
		if k.env != "" {
			unset(k.env)
		}
	}
	for env := range pgxOnlyEnv {
		unset(env)
	}
	unset("PGSYSCONFDIR")
	home := t.TempDir()
	t.Setenv("HOME", home)
	return home
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to umask
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, conn string) *Settings {
	t.Helper()
	s, err := Load(conn)
	if err != nil {
		t.Fatalf("Load(%q): %v", conn, err)
	}
	return s
}

func param(s *Settings, kw string) (Param, bool) {
	for _, p := range s.Params {
		if p.Keyword == kw {
			return p, true
		}
	}
	return Param{}, false
}

func hasWarning(s *Settings, code string) bool {
	return slices.ContainsFunc(s.Warnings, func(w Warning) bool { return w.Code == code })
}

func TestProvenance(t *testing.T) {
	home := isolate(t)
	svc := writeFile(t, filepath.Join(home, ".pg_service.conf"),
		"# comment\n[other]\nhost=elsewhere\n[orders]\nhost=svc.example.com\ndbname=orders\nsslmode=verify-full\n", 0o600)
	t.Setenv("PGUSER", "envuser")
	t.Setenv("PGPORT", "6000")
	t.Setenv("PGCONNECT_TIMEOUT", "7")
	t.Setenv("PGTZ", "UTC")

	s := mustLoad(t, "service=orders application_name=triage")
	want := map[string]string{
		"host":             "svc.example.com from service file " + svc + " [orders]",
		"dbname":           "orders from service file " + svc + " [orders]",
		"sslmode":          "verify-full from service file " + svc + " [orders]",
		"service":          "orders from connection string",
		"application_name": "triage from connection string",
		"user":             "envuser from environment PGUSER",
		"port":             "6000 from environment PGPORT",
		"connect_timeout":  "7 from environment PGCONNECT_TIMEOUT",
		"timezone":         "UTC from environment PGTZ",
		"passfile":         filepath.Join(home, ".pgpass") + " from default",
		"sslnegotiation":   "postgres from default",
	}
	for kw, w := range want {
		p, ok := param(s, kw)
		if got := p.Value + " from " + p.Source.String(); !ok || got != w {
			t.Errorf("%s: got %q, want %q", kw, got, w)
		}
	}
	if s.Config.Host != "svc.example.com" || s.Config.Port != 6000 || s.Config.Database != "orders" || s.Config.User != "envuser" {
		t.Errorf("Config = %s:%d %s %s", s.Config.Host, s.Config.Port, s.Config.Database, s.Config.User)
	}
	if s.ConnectTimeout != 7*time.Second || s.SSLMode != "verify-full" {
		t.Errorf("ConnectTimeout %v, SSLMode %s", s.ConnectTimeout, s.SSLMode)
	}
	var order []string
	for _, p := range s.Params {
		order = append(order, p.Keyword)
	}
	wantOrder := []string{"host", "port", "dbname", "user", "passfile", "service", "sslmode", "sslnegotiation",
		"connect_timeout", "target_session_attrs", "application_name", "timezone"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("Params order %v, want %v", order, wantOrder)
	}
}

func TestPrecedence(t *testing.T) {
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".pg_service.conf"), "[s]\nhost=from-service\nport=5001\n", 0o600)
	t.Setenv("PGHOST", "from-env")
	t.Setenv("PGPORT", "5002")
	t.Setenv("PGDATABASE", "envdb")
	t.Setenv("PGSERVICE", "s")
	tests := []struct {
		conn, host, port, db string
	}{
		{"", "from-service", "5001", "envdb"},
		{"host=from-string", "from-string", "5001", "envdb"},
		{"postgres://from-url:5003/urldb", "from-url", "5003", "urldb"},
		{"postgres://from-url/?service=s", "from-url", "5001", "envdb"},
	}
	for _, tt := range tests {
		s := mustLoad(t, tt.conn)
		h, _ := param(s, "host")
		p, _ := param(s, "port")
		d, _ := param(s, "dbname")
		if h.Value != tt.host || p.Value != tt.port || d.Value != tt.db {
			t.Errorf("%q: host %s port %s db %s; want %s %s %s", tt.conn, h.Value, p.Value, d.Value, tt.host, tt.port, tt.db)
		}
		if s.Config.Host != tt.host || s.Database != tt.db {
			t.Errorf("%q: Config.Host %s Database %s", tt.conn, s.Config.Host, s.Database)
		}
	}
}

func TestSysconfServiceFile(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "pg_service.conf"), "[sys]\nhost=sys.example.com\nport=5444\n", 0o644)
	t.Setenv("PGSYSCONFDIR", dir)
	for _, conn := range []string{"service=sys", "postgres:///?service=sys", "postgres://?service=sys"} {
		s := mustLoad(t, conn)
		p, _ := param(s, "host")
		if p.Source.String() != "service file "+path+" [sys]" || s.Config.Host != "sys.example.com" || s.Config.Port != 5444 {
			t.Errorf("%q: host %q from %s, Config %s:%d", conn, p.Value, p.Source, s.Config.Host, s.Config.Port)
		}
	}
}

func TestURL(t *testing.T) {
	isolate(t)
	s := mustLoad(t, "postgresql://us%40er:p%40ss@[::1]:5433,db.example.com/my%20db?sslmode=verify-ca&application_name=x&ssl=true")
	if s.User != "us@er" || s.Database != "my db" || s.Config.Password != "p@ss" || s.SSLMode != "require" {
		t.Errorf("got user %q db %q sslmode %q", s.User, s.Database, s.SSLMode)
	}
	want := []Target{{Host: "::1", Port: 5433}, {Host: "db.example.com", Port: 5432}}
	if !slices.Equal(s.Targets, want) {
		t.Errorf("Targets %+v, want %+v", s.Targets, want)
	}
	if got := s.Target(); got != "us@er@[::1]:5433,db.example.com:5432/my db" {
		t.Errorf("Target() = %q", got)
	}
}

func TestTargets(t *testing.T) {
	isolate(t)
	tests := []struct {
		conn    string
		targets []Target
		display string
	}{
		{"host=db.example.com user=app dbname=orders", []Target{{Host: "db.example.com", Port: 5432}}, "app@db.example.com:5432/orders"},
		{"host=h1,h2 port=5432,5433 user=app dbname=orders sslmode=prefer", []Target{{Host: "h1", Port: 5432}, {Host: "h2", Port: 5433}}, "app@h1:5432,h2:5433/orders"},
		{"host=h1,h2,h3 port=6000 user=app", []Target{{Host: "h1", Port: 6000}, {Host: "h2", Port: 6000}, {Host: "h3", Port: 6000}}, "app@h1:6000,h2:6000,h3:6000/app"},
		{"host=/tmp/sock user=app", []Target{{Host: "/tmp/sock", Port: 5432, Unix: true}}, "app@/tmp/sock:5432/app"},
		{"host=db.example.com,db2 hostaddr=192.0.2.10,192.0.2.11 user=app", []Target{{Host: "db.example.com", HostAddr: "192.0.2.10", Port: 5432}, {Host: "db2", HostAddr: "192.0.2.11", Port: 5432}}, "app@db.example.com:5432,db2:5432/app"},
		{"hostaddr=192.0.2.10 port=5433 user=app", []Target{{Host: "192.0.2.10", HostAddr: "192.0.2.10", Port: 5433}}, "app@192.0.2.10:5433/app"},
	}
	for _, tt := range tests {
		s := mustLoad(t, tt.conn)
		if !slices.Equal(s.Targets, tt.targets) {
			t.Errorf("%q: Targets %+v, want %+v", tt.conn, s.Targets, tt.targets)
		}
		if got := s.Target(); got != tt.display {
			t.Errorf("%q: Target() = %q, want %q", tt.conn, got, tt.display)
		}
		if s.Config.Host != s.Targets[0].Host || s.Config.Port != s.Targets[0].Port {
			t.Errorf("%q: Config %s:%d does not start at the first target", tt.conn, s.Config.Host, s.Config.Port)
		}
		for i, tg := range s.Targets {
			c := s.TargetConfig(i)
			if c.Host != tg.Host || c.Port != tg.Port {
				t.Errorf("%q: TargetConfig(%d) = %s:%d", tt.conn, i, c.Host, c.Port)
			}
			for _, fb := range c.Fallbacks {
				if fb.Host != tg.Host || fb.Port != tg.Port {
					t.Errorf("%q: TargetConfig(%d) falls back to %s:%d", tt.conn, i, fb.Host, fb.Port)
				}
			}
		}
	}
}

func TestHostAddr(t *testing.T) {
	isolate(t)
	s := mustLoad(t, "host=db.example.com hostaddr=192.0.2.10 sslmode=verify-full user=app")
	if _, ok := s.Config.RuntimeParams["hostaddr"]; ok {
		t.Error("hostaddr is sent to the server as a run-time parameter")
	}
	addrs, err := s.Config.LookupFunc(context.Background(), "db.example.com")
	if err != nil || !slices.Equal(addrs, []string{"192.0.2.10"}) {
		t.Errorf("LookupFunc(db.example.com) = %v, %v; want the hostaddr", addrs, err)
	}
	if s.Config.TLSConfig == nil || s.Config.TLSConfig.ServerName != "db.example.com" {
		t.Error("TLS does not verify against the host name")
	}
	t.Setenv("PGHOSTADDR", "192.0.2.20")
	s = mustLoad(t, "user=app")
	if s.Config.Host != "192.0.2.20" {
		t.Errorf("PGHOSTADDR without host: Config.Host = %q, want a TCP connection to the address", s.Config.Host)
	}
	if p, _ := param(s, "hostaddr"); p.Source.String() != "environment PGHOSTADDR" {
		t.Errorf("hostaddr source %s", p.Source)
	}
	if _, ok := param(s, "host"); ok {
		t.Error("host listed although only hostaddr is set")
	}
}

func TestRuntimeParams(t *testing.T) {
	isolate(t)
	s := mustLoad(t, "host=h user=app keepalives=1 sslcrl=/x.crl fallback_application_name=fb options=-cwork_mem=1MB")
	for _, kw := range []string{"keepalives", "sslcrl", "fallback_application_name"} {
		if _, ok := s.Config.RuntimeParams[kw]; ok {
			t.Errorf("%s is sent to the server", kw)
		}
	}
	if s.Config.RuntimeParams["application_name"] != "fb" || s.Config.RuntimeParams["options"] != "-cwork_mem=1MB" {
		t.Errorf("RuntimeParams = %v", s.Config.RuntimeParams)
	}
	var unsupported []string
	for _, w := range s.Warnings {
		if w.Code == WarnKeywordUnsupported {
			unsupported = append(unsupported, strings.Fields(w.Message)[0])
		}
	}
	if !slices.Equal(unsupported, []string{"keepalives", "sslcrl"}) {
		t.Errorf("unsupported keyword warnings for %v", unsupported)
	}
	s = mustLoad(t, "host=h connect_timeout=1")
	if s.ConnectTimeout != 2*time.Second || s.Config.ConnectTimeout != 2*time.Second {
		t.Errorf("connect_timeout=1 gives %v; libpq uses 2s", s.ConnectTimeout)
	}
}

func TestErrors(t *testing.T) {
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".pg_service.conf"), "[bad]\nhots=x\n[nested]\nservice=bad\n", 0o600)
	tests := []struct {
		conn, env, envVal string
		keyword, value    string
		msg               string
	}{
		{conn: "host=h sslmod=require", keyword: "sslmod",
			msg: `invalid connection option "sslmod" (did you mean "sslmode"?)`},
		{conn: "postgres://h/db?sslmod=require", keyword: "sslmod",
			msg: `invalid URI query parameter "sslmod" (did you mean "sslmode"?)`},
		{conn: "postgres://h/db?search_path=x", keyword: "search_path",
			msg: `invalid URI query parameter "search_path"`},
		{conn: "sslmode=requre", keyword: "sslmode", value: "requre",
			msg: `invalid sslmode value: "requre" (from connection string); valid values: disable, allow, prefer, require, verify-ca, verify-full`},
		{env: "PGSSLMODE", envVal: "on", keyword: "sslmode", value: "on",
			msg: `invalid sslmode value: "on" (from environment PGSSLMODE); valid values: disable, allow, prefer, require, verify-ca, verify-full`},
		{conn: "port=99999", keyword: "port", value: "99999",
			msg: `invalid port number: "99999" (from connection string); it must be a number from 1 to 65535`},
		{conn: "postgres://h:abc/db", keyword: "port", value: "abc",
			msg: `invalid port number: "abc" (from connection string); it must be a number from 1 to 65535`},
		{conn: "connect_timeout=ten", keyword: "connect_timeout", value: "ten",
			msg: `invalid connect_timeout value: "ten" (from connection string); it must be a whole number of seconds, 0 or more`},
		{conn: "connect_timeout=-1", keyword: "connect_timeout", value: "-1",
			msg: `invalid connect_timeout value: "-1" (from connection string); it must be a whole number of seconds, 0 or more`},
		{conn: "target_session_attrs=master", keyword: "target_session_attrs", value: "master",
			msg: `invalid target_session_attrs value: "master" (from connection string); valid values: any, read-write, read-only, primary, standby, prefer-standby`},
		{conn: "sslnegotiation=tls", keyword: "sslnegotiation", value: "tls",
			msg: `invalid sslnegotiation value: "tls" (from connection string); valid values: postgres, direct`},
		{conn: "sslnegotiation=direct sslmode=prefer", keyword: "sslmode", value: "prefer",
			msg: `weak sslmode "prefer" may not be used with sslnegotiation=direct (from connection string); use "require", "verify-ca" or "verify-full"`},
		{conn: "sslnegotiation=direct", keyword: "sslnegotiation", value: "direct",
			msg: `sslnegotiation=direct may not be used with the default sslmode "prefer" (from connection string); set sslmode to "require", "verify-ca" or "verify-full"`},
		{conn: "sslrootcert=system sslmode=require", keyword: "sslmode", value: "require",
			msg: `weak sslmode "require" may not be used with sslrootcert=system (from connection string); use "verify-full"`},
		{conn: "host=a,b,c port=1,2", keyword: "port", value: "1,2",
			msg: `could not match 2 port numbers to 3 hosts (from connection string); give one port for all hosts or one port per host`},
		{conn: "host=a,b hostaddr=192.0.2.1", keyword: "hostaddr", value: "192.0.2.1",
			msg: `could not match 2 host names to 1 hostaddr values (from connection string)`},
		{conn: "hostaddr=db.example.com", keyword: "hostaddr", value: "db.example.com",
			msg: `could not parse network address "db.example.com" (from connection string); hostaddr must be a numeric IPv4 or IPv6 address (put names in host)`},
		{conn: "service=missing", keyword: "service", value: "missing",
			msg: `definition of service "missing" not found (looked in ` + filepath.Join(home, ".pg_service.conf") + `)`},
		{conn: "service=bad", keyword: "hots",
			msg: `service file ` + filepath.Join(home, ".pg_service.conf") + ` [bad]: invalid connection option "hots"`},
		{conn: "service=nested", keyword: "service", value: "nested",
			msg: `service file ` + filepath.Join(home, ".pg_service.conf") + ` [nested]: nested service specifications are not supported`},
		{conn: "sslrootcert=/nonexistent/root.crt", keyword: "sslrootcert", value: "/nonexistent/root.crt",
			msg: `root certificate file "/nonexistent/root.crt" cannot be read (from connection string)`},
		{conn: "host=h port", msg: `invalid connection string: missing "=" after "port"`},
		{conn: "host='h", keyword: "host", msg: `invalid connection string: unterminated quoted string in the value of "host"`},
		{conn: "=x", msg: `invalid connection string: "=" without a keyword before it`},
		{conn: "host=h\x00", msg: "connection string contains a NUL byte"},
		{conn: "postgres://[::1/db", keyword: "host", msg: `malformed URL: missing "]" after an IPv6 address`},
		{conn: "postgres://h/d%zzb", msg: "malformed URL: invalid percent-encoding in database name"},
		{conn: "postgres://h/db?sslmode", keyword: "sslmode", msg: `malformed URL: query parameter "sslmode" needs exactly one "="`},
	}
	for _, tt := range tests {
		if tt.env != "" {
			t.Setenv(tt.env, tt.envVal)
		}
		_, err := Load(tt.conn)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v is not an *Error", tt.conn, err)
		} else if e.Error() != tt.msg || e.Keyword != tt.keyword || e.Value != tt.value {
			t.Errorf("%q:\n got  %q (keyword %q value %q)\n want %q (keyword %q value %q)", tt.conn, e.Error(), e.Keyword, e.Value, tt.msg, tt.keyword, tt.value)
		}
		if tt.env != "" {
			t.Setenv(tt.env, "")
		}
	}
}

func TestRedaction(t *testing.T) {
	home := isolate(t)
	const secret = "Sup3rS3cret"
	writeFile(t, filepath.Join(home, ".pgpass"), "*:*:*:*:"+secret+"\n", 0o600)
	inputs := []string{
		"postgres://u:" + secret + "@db.example.com/db",
		"postgres://u:" + secret + "@db.example.com:99999/db",
		"postgres://u:sec:" + secret + "@h",
		"postgres://u:sec/" + secret + "@h",
		"postgres://u:" + secret + "/x@h:5432/db",
		"postgres://u:" + secret + "@h@x/db",
		"postgres://u:" + secret + "%zz@h/db",
		"postgres://h/db?password=" + secret + "&sslmode=bogus",
		"postgres://h/db?password=" + secret + "=x",
		"postgres://h/db?password=" + secret + "%zz",
		"password=" + secret + " sslmode=bogus",
		"password='" + secret,
		"password=" + secret + " " + secret + "=1",
		"password=ab " + secret,
		"pasword=" + secret,
		"sslpassword=" + secret + " host=h port=0",
		"host=h user=u", // password from the passfile
	}
	for _, in := range inputs {
		s, err := Load(in)
		var out []string
		if err != nil {
			var e *Error
			errors.As(err, &e)
			out = append(out, err.Error(), e.Value)
		} else {
			out = append(out, s.Target())
			for _, p := range s.Params {
				out = append(out, p.Value)
			}
			for _, w := range s.Warnings {
				out = append(out, w.Message)
			}
			out = append(out, s.Password.LookedIn...)
		}
		for _, o := range out {
			if strings.Contains(o, secret) || strings.Contains(o, "cret") {
				t.Errorf("%q leaks the password: %q", in, o)
			}
		}
	}
	s := mustLoad(t, "host=h user=u password="+secret)
	if p, _ := param(s, "password"); p.Value != mask || !p.Secret || s.Config.Password != secret {
		t.Errorf("password param %+v", p)
	}
}

func TestPassfile(t *testing.T) {
	home := isolate(t)
	pass := filepath.Join(home, ".pgpass")
	writeFile(t, pass, strings.Join([]string{
		"# host:port:db:user:password",
		"other.example.com:5432:*:app:nope",
		`db.example.com:5432:orders:app:pw\:with\\colon:ignored`,
		"",
		"db2.example.com:*:*:app:second",
		"localhost:5432:*:app:socket",
		"*:*:*:app:fallback",
	}, "\n"), 0o600)

	s := mustLoad(t, "host=db.example.com,db2.example.com,elsewhere dbname=orders user=app")
	if s.Config.Password != `pw:with\colon` || !s.Password.Found || s.Password.Source.String() != "passfile "+pass+" line 3" {
		t.Errorf("password %q from %s", s.Config.Password, s.Password.Source)
	}
	if want := []string{"connection string", "PGPASSWORD", pass + " line 3", pass + " line 5", pass + " line 7"}; !slices.Equal(s.Password.LookedIn, want) {
		t.Errorf("LookedIn %q, want %q", s.Password.LookedIn, want)
	}
	for i, want := range []string{`pw:with\colon`, "second", "fallback"} {
		if got := s.TargetConfig(i).Password; got != want {
			t.Errorf("target %d password %q, want %q", i, got, want)
		}
	}
	if p, _ := param(s, "password"); p.Value != mask || p.Source.Kind != SourcePassfile {
		t.Errorf("password param %+v", p)
	}

	s = mustLoad(t, "host=/tmp/sock user=app")
	if s.Config.Password != "socket" {
		t.Errorf("unix socket password %q; libpq matches it as localhost", s.Config.Password)
	}
	s = mustLoad(t, "host=x user=nobody")
	if s.Password.Found || s.Config.Password != "" || !slices.Contains(s.Password.LookedIn, pass+" (no matching line)") {
		t.Errorf("no match: %+v %q", s.Password, s.Config.Password)
	}

	// The connection string and PGPASSWORD win over the passfile.
	s = mustLoad(t, "host=db.example.com dbname=orders user=app password=given")
	if s.Config.Password != "given" || s.Password.Source.Kind != SourceConnString || !slices.Equal(s.Password.LookedIn, []string{"connection string"}) {
		t.Errorf("explicit password: %q %+v", s.Config.Password, s.Password)
	}
	t.Setenv("PGPASSWORD", "fromenv")
	s = mustLoad(t, "host=db.example.com dbname=orders user=app")
	if s.Config.Password != "fromenv" || s.Password.Source.String() != "environment PGPASSWORD" || !hasWarning(s, WarnPasswordInEnvironment) {
		t.Errorf("PGPASSWORD: %q %+v", s.Config.Password, s.Password)
	}
	t.Setenv("PGPASSWORD", "")

	// PGPASSFILE and the passfile keyword choose the file.
	other := writeFile(t, filepath.Join(t.TempDir(), "pgpass"), "*:*:*:*:other\n", 0o600)
	t.Setenv("PGPASSFILE", other)
	if s = mustLoad(t, "host=h user=app"); s.Config.Password != "other" {
		t.Errorf("PGPASSFILE: %q", s.Config.Password)
	}
	t.Setenv("PGPASSFILE", "")
	if s = mustLoad(t, "host=h user=app passfile="+other); s.Config.Password != "other" {
		t.Errorf("passfile keyword: %q", s.Config.Password)
	}
}

func TestPassfileInsecure(t *testing.T) {
	home := isolate(t)
	pass := writeFile(t, filepath.Join(home, ".pgpass"), "*:*:*:*:leaky\n", 0o644)
	s := mustLoad(t, "host=db.example.com user=app")
	if s.Config.Password != "" || s.Password.Found {
		t.Errorf("password %q used from a world-readable passfile", s.Config.Password)
	}
	if want := pass + " (ignored: permissions 0644 allow group/world access)"; !slices.Contains(s.Password.LookedIn, want) {
		t.Errorf("LookedIn %q lacks %q", s.Password.LookedIn, want)
	}
	if !hasWarning(s, WarnPassfileInsecure) {
		t.Errorf("no %s warning: %+v", WarnPassfileInsecure, s.Warnings)
	}
	// An explicit password means libpq never opens the file: no warning.
	if s = mustLoad(t, "host=db.example.com user=app password=x"); hasWarning(s, WarnPassfileInsecure) {
		t.Error("passfile warning although the password was given")
	}
	os.Chmod(pass, 0o600)
	if s = mustLoad(t, "host=db.example.com user=app"); s.Config.Password != "leaky" || hasWarning(s, WarnPassfileInsecure) {
		t.Errorf("0600 passfile: password %q warnings %+v", s.Config.Password, s.Warnings)
	}
}

func TestMatchPassfileLine(t *testing.T) {
	key := passfileKey{"h:x", "5432", "db", "u"}
	tests := []struct {
		line, pw string
		ok       bool
	}{
		{`h\:x:5432:db:u:pw`, "pw", true},
		{`*:*:*:*:p\\w\:1:rest`, `p\w:1`, true},
		{`h:x:5432:db:u:pw`, "", false},
		{`h\:x:5433:db:u:pw`, "", false},
		{`h\:x:5432:db:u`, "", false},
		{`*x:5432:db:u:pw`, "", false},
		{`h\:x:5432:db:u:`, "", true},
	}
	for _, tt := range tests {
		pw, ok := matchPassfileLine(tt.line, key)
		if pw != tt.pw || ok != tt.ok {
			t.Errorf("%q: got %q %v, want %q %v", tt.line, pw, ok, tt.pw, tt.ok)
		}
	}
}

func TestWarnings(t *testing.T) {
	isolate(t)
	tests := []struct {
		conn       string
		unverified bool
	}{
		{"host=db.example.com sslmode=require", true},
		{"host=db.example.com", true},
		{"host=203.0.113.5 sslmode=disable", true},
		{"host=db.example.com sslmode=verify-full", false},
		{"host=localhost,127.0.0.1,10.1.2.3,192.168.0.1,fd00::1,fe80::1%eth0,postgres,db.internal sslmode=disable", false},
		{"host=/tmp sslmode=disable", false},
		{"host=db.internal hostaddr=203.0.113.5 sslmode=prefer", true},
	}
	for _, tt := range tests {
		s := mustLoad(t, tt.conn+" connect_timeout=5")
		if got := hasWarning(s, WarnSSLModeUnverified); got != tt.unverified {
			t.Errorf("%q: sslmode_unverified %v, want %v", tt.conn, got, tt.unverified)
		}
		if hasWarning(s, WarnNoConnectTimeout) {
			t.Errorf("%q: no_connect_timeout with connect_timeout=5", tt.conn)
		}
	}
	for _, conn := range []string{"host=h", "host=h connect_timeout=0"} {
		if s := mustLoad(t, conn); !hasWarning(s, WarnNoConnectTimeout) {
			t.Errorf("%q: no %s warning", conn, WarnNoConnectTimeout)
		}
	}
}

func TestHugeInput(t *testing.T) {
	isolate(t)
	in := "host=" + strings.Repeat("h,", 5000) + "h port=" + strings.Repeat("1,", 5000) + "1"
	s := mustLoad(t, in)
	if len(s.Targets) != 5001 || s.TargetConfig(5000).Host != "h" {
		t.Errorf("%d targets", len(s.Targets))
	}
	if _, err := Load("postgres://h/db?" + strings.Repeat("x", 1<<20) + "=1"); err == nil {
		t.Error("a 1 MiB unknown parameter is accepted")
	}
}
