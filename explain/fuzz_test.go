package explain

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScan feeds the scanner arbitrary bytes, seeded with the corpus and with framings that stress the grouping
// (blank lines, carriage returns, tracebacks without their exception, DETAIL lines alone). Whatever the input:
// no panic, one match per code, counts and first lines that fit the input, printable evidence, best first; and a
// secret planted in a failure message after the input never shows in the evidence.
func FuzzScan(f *testing.F) {
	for _, e := range readCorpus(f) {
		f.Add([]byte(e.Text))
	}
	for _, s := range []string{
		"", "\n", "\r\n\r\n", "Traceback (most recent call last):\n", "DETAIL:  Role \"x\" does not exist.\n",
		"Caused by: java.net.ConnectException: Connection refused", "\tat x\n\tat y\nCaused by:\n",
		"28P01: \n(SQLSTATE 57P01)\nSQLSTATE[", "SqlState(E", "connection to server \nconnection to server at",
		"FATAL:  sorry, too many clients already\r\nFATAL:  sorry, too many clients already\r\n",
		"\x00\xff\xfe\xfd(SQLSTATE 53300)\x00", strings.Repeat("a", 70000) + "\nconnection refused",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := Scan(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		seen := map[string]bool{}
		for i, m := range ms {
			if seen[string(m.Code)] {
				t.Errorf("code %s twice", m.Code)
			}
			seen[string(m.Code)] = true
			if m.Count < 1 || m.FirstLine < 1 || m.FirstLine > lines {
				t.Errorf("%s: count %d, first line %d of %d", m.Code, m.Count, m.FirstLine, lines)
			}
			if !utf8.ValidString(m.Evidence) || m.Evidence == "" || len(m.Evidence) > 2*evidenceBytes {
				t.Errorf("%s: evidence %q", m.Code, m.Evidence)
			}
			if len(m.Steps) == 0 || m.Summary == "" {
				t.Errorf("%s: no steps or summary", m.Code)
			}
			if i > 0 && (ms[i-1].Count < m.Count || ms[i-1].Count == m.Count && ms[i-1].FirstLine > m.FirstLine) {
				t.Errorf("not best first: %v before %v", ms[i-1].Code, m.Code)
			}
		}
		const secret = "Fuzz3dPw"
		if bytes.Contains(data, []byte(secret)) {
			return
		}
		for _, planted := range []string{"password=" + secret, "POSTGRES_PASSWORD='" + secret + "'", `"dbPassword": "` + secret + `"`,
			"postgres://app:p@" + secret + "@db/orders", "app:" + secret + "@db:5432", "api_token: " + secret} {
			text := string(data) + "\nconnection to server failed (" + planted + "): FATAL:  password authentication failed for user \"app\"\n"
			for _, m := range ScanText(text) {
				if strings.Contains(m.Evidence, secret) {
					t.Fatalf("evidence %q holds the secret planted as %q", m.Evidence, planted)
				}
			}
		}
	})
}
