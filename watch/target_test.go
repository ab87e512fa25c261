package watch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Setenv("PGPASSWORD", "")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("fleet.yml", `interval: 2s
login_every: 5
targets:
  - name: orders
    conn: "host=db1.example.com user=monitor dbname=orders password=s3cr3t-pw"
    interval: 500ms
  - conn: "postgres://monitor@db2.example.com:5433/billing"
`)
	c, err := LoadConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Interval != 2*time.Second || c.LoginEvery != 5 || len(targets) != 2 ||
		targets[0].Name != "orders" || targets[0].Interval != 500*time.Millisecond ||
		targets[1].Name != "monitor@db2.example.com:5433/billing" || targets[1].Interval != 0 {
		t.Errorf("config %+v, targets %+v", c, targets)
	}

	for _, tt := range []struct{ body, want string }{
		{"targets: []\n", "no targets"},
		{"targets:\n  - name: x\n", "target 1 (x): conn is empty"},
		{"intervall: 1s\ntargets:\n  - conn: host=x\n", "field intervall not found"},
		{"targets:\n  - conn: host=x\n    interval: soon\n", "soon"},
		{"targets:\n  - conn: host=x\n    interval: -1s\n", "must not be negative"},
	} {
		_, err := LoadConfig(write("bad.yml", tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.body, err, tt.want)
		}
	}
	c, err = LoadConfig(write("bad-conn.yml", "targets:\n  - name: orders\n    conn: \"host=x sslmode=requre password=s3cr3t-pw\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(); err == nil || !strings.Contains(err.Error(), "target 1 (orders)") || strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("a bad conn: %v", err)
	}
}

// TestConfigAliasesAndFiles: a YAML alias, a config that is not a regular file, or one too large, is refused.
func TestConfigAliasesAndFiles(t *testing.T) {
	bomb := "a: &a \"host=" + strings.Repeat("x", 1000) + "\"\ntargets:\n" + strings.Repeat("  - conn: *a\n", 1000)
	if _, err := ParseConfig("bomb.yml", []byte(bomb)); err == nil || !strings.Contains(err.Error(), "bomb.yml:3: YAML aliases") {
		t.Errorf("aliases: %v", err)
	}
	if _, err := LoadConfig(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yml")
	if err := os.WriteFile(big, []byte("targets:\n"+strings.Repeat("  - conn: host=db.example.com\n", 40000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a config over the cap: %v", err)
	}
}

// FuzzParseConfig: no input panics, and a config accepted has targets, each with a conn.
func FuzzParseConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig("fuzz.yml", b)
		if err != nil {
			return
		}
		if len(c.Targets) == 0 {
			t.Fatal("accepted without targets")
		}
		for _, tg := range c.Targets {
			if tg.Conn == "" || tg.Interval < 0 {
				t.Fatalf("accepted target %+v", tg)
			}
		}
	})
}
