package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExplainExitCodes(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "postgresql.log")
	log := "2026-11-24 18:10:41.001 UTC [4601] LOG:  connection received: host=10.0.0.5 port=52344\n" +
		"2026-11-24 18:10:41.003 UTC [4601] FATAL:  sorry, too many clients already\n" +
		"2026-11-24 18:10:42.003 UTC [4602] FATAL:  sorry, too many clients already\n"
	if err := os.WriteFile(logFile, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // a substring of stdout
		wantErr  string // a substring of stderr
	}{
		{"arguments joined", "", []string{"explain", "FATAL:", "password", "authentication", "failed", "for", "user", `"app"`}, 0, "auth.password_failed  (login, persistent)  once, first at line 1", ""},
		{"standard input without arguments", `Error: connect ECONNREFUSED 127.0.0.1:5432`, []string{"explain"}, 0, "tcp.refused", ""},
		{"dash is standard input", `getaddrinfo ENOTFOUND db.example.com`, []string{"explain", "-"}, 0, "dns.not_found", ""},
		{"file", "", []string{"explain", "--file", logFile}, 0, "limits.too_many_connections  (limits, transient)  2 times, first at line 2", ""},
		{"a lone argument naming a file is the file", "", []string{"explain", logFile}, 0, "limits.too_many_connections  (limits, transient)  2 times, first at line 2", ""},
		{"a lone word that names no file is text", "", []string{"explain", filepath.Join(dir, "nope.log")}, 1, "No connection problem recognised in the arguments.", ""},
		{"nothing recognised", "", []string{"explain", "ERROR:  division by zero"}, 1, "No connection problem recognised in the arguments.", ""},
		{"missing file", "", []string{"explain", "--file", filepath.Join(dir, "nope.log")}, 3, "", "no such file"},
		{"directory", "", []string{"explain", "--file", dir}, 3, "", "is a directory"},
		{"file and arguments", "", []string{"explain", "--file", logFile, "text"}, 3, "", "not both"},
		{"bad format", "", []string{"explain", "--format", "yaml", "x"}, 3, "", "--format must be text or json"},
		{"unknown flag", "", []string{"explain", "--nope"}, 3, "", "unknown flag"},
		{"binary garbage", "\x00\xff\xfe\x01garbage\n\x00", []string{"explain"}, 1, "No connection problem", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errOut)
			}
		})
	}
}

func TestExplainJSON(t *testing.T) {
	text := "psql: error: connection to server at \"db.example.com\" (10.0.0.9), port 5432 failed: FATAL:  no pg_hba.conf entry for host \"203.0.113.7\", user \"app\", database \"orders\", no encryption\n" +
		"failed to connect to `user=app database=orders`: 10.0.0.9:5432 (db.example.com): server error: FATAL: remaining connection slots are reserved for roles with the SUPERUSER attribute (SQLSTATE 53300)\n" +
		"Npgsql.PostgresException (0x80004005): 28000: pg_hba.conf rejette la connexion\n"
	code, out, errOut := runCLI(t, text, "explain", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Exactly one object with "matches" and nothing else; every match has every field.
	var raw map[string][]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if len(raw) != 1 || raw["matches"] == nil {
		t.Fatalf("keys: %v", raw)
	}
	fields := []string{"code", "category", "transient", "sqlstate", "summary", "steps", "evidence", "count", "first_line"}
	for _, m := range raw["matches"] {
		for _, f := range fields {
			if _, ok := m[f]; !ok {
				t.Errorf("match lacks %q: %v", f, m)
			}
		}
		if len(m) != len(fields) {
			t.Errorf("match has fields beyond the contract: %v", m)
		}
	}
	var got struct {
		Matches []struct {
			Code      string   `json:"code"`
			Category  string   `json:"category"`
			Transient bool     `json:"transient"`
			SQLState  string   `json:"sqlstate"`
			Steps     []string `json:"steps"`
			Count     int      `json:"count"`
			FirstLine int      `json:"first_line"`
		} `json:"matches"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Code, Category, SQLState string
		Transient                bool
		Count, FirstLine         int
	}
	var rows []row
	for _, m := range got.Matches {
		rows = append(rows, row{m.Code, m.Category, m.SQLState, m.Transient, m.Count, m.FirstLine})
	}
	want := []row{
		{"auth.hba_rejected", "firewall", "", false, 1, 1},
		{"limits.reserved_slots", "limits", "53300", true, 1, 2},
		{"auth.rejected", "login", "28000", false, 1, 3},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("matches (-want +got):\n%s", d)
	}
	if steps := strings.Join(got.Matches[0].Steps, "\n"); !strings.Contains(steps, "hostssl orders app 203.0.113.7/32") {
		t.Errorf("steps lack the facts: %s", steps)
	}

	code, out, _ = runCLI(t, "LOG:  checkpoint starting: time\n", "explain", "--format", "json")
	if code != 1 || strings.TrimSpace(out) != "{\n  \"matches\": []\n}" {
		t.Errorf("nothing recognised: exit %d, %q", code, out)
	}
}

func TestExplainHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "explain", "--help")
	if code != 0 || !strings.Contains(out, "pgtriage explain --file /var/log/postgresql") || !strings.Contains(out, "Exit codes") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}
