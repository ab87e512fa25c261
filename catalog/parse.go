package catalog

import (
	"regexp"
	"strings"
)

// Parse reads a failure as any client or the server printed it, framing and all, and returns the SQLSTATE the
// framing carries (empty when it carries none) with the text. It knows the framings of the common clients:
//
//	pgx, sqlx, tokio-postgres   ... (SQLSTATE 28P01)   SqlState(E28P01)
//	PHP PDO                     SQLSTATE[08006] [7] ...
//	PgJDBC, Flyway              SQL State: 28P01   SQLState: 28P01
//	Npgsql, libpq (verbose)     28P01: password authentication failed ...
//	node-postgres, psycopg      code: '28P01'   pgcode: 28P01   "code": "28P01"
//	Postgrex, poolers           FATAL 28P01 (invalid_password) ...   ERROR: 28P01 ...   PGFATAL [28P01]
//	server log with %e          ... [1234] 28P01 FATAL:  ...
//
// A SQLSTATE is what lets a localised server message resolve: its words are translated, its code is not.
func Parse(text string) Message {
	return Message{SQLState: sqlstateOf(text), Text: text}
}

// sqlstateFramings find a SQLSTATE where a client or the server prints one; the first submatch is the code.
var sqlstateFramings = []*regexp.Regexp{
	regexp.MustCompile(`(?i:sql ?state)\W{0,4}E?([0-9A-Z]{5})\b`),
	regexp.MustCompile(`(?i:\bpgcode|\bcode)\W{1,4}([0-9A-Z]{5})\b`),
	regexp.MustCompile(`\b(?:FATAL|ERROR|PANIC|PGFATAL|PGERROR)\W{0,3}([0-9A-Z]{5})\b`),
	regexp.MustCompile(`(?:^|[\s:>\]])([0-9A-Z]{5}):(?:\s|\d)`),
	regexp.MustCompile(`(?:^|\s)([0-9A-Z]{5}):?\s+(?:FATAL|ERROR|PANIC|WARNING|LOG):`),
}

// sqlstateClasses are the classes of PostgreSQL's errcodes.txt; a five-character token outside them is not a
// SQLSTATE (a port, a process id, a word).
var sqlstateClasses = map[string]bool{}

func init() {
	for _, c := range strings.Fields("00 01 02 03 08 09 0A 0B 0F 0L 0P 0Z 20 21 22 23 24 25 26 27 28 2B 2D 2F 34 38 39 3B 3D 3F 40 42 44 53 54 55 57 58 72 F0 HV P0 XX") {
		sqlstateClasses[c] = true
	}
}

func sqlstateOf(text string) string {
	for _, rx := range sqlstateFramings {
		for _, m := range rx.FindAllStringSubmatch(text, 4) {
			if code := m[1]; sqlstateClasses[code[:2]] && strings.ContainsAny(code, "0123456789") && code != "00000" {
				return code
			}
		}
	}
	return ""
}

// clientClass is SQLSTATE class 08, connection exception: clients (libpq for PDO, PgJDBC, pgbouncer) give it to any
// failure to connect, so it says nothing about which one.
func clientClass(sqlstate string) bool { return strings.HasPrefix(sqlstate, "08") }

// Facts found in a message's own words, for the steps: the role, the database, the host and port the client tried,
// and the client address the server saw.
var factPatterns = []struct {
	name string
	rx   *regexp.Regexp
}{
	{"user", regexp.MustCompile(`(?:for user|[Rr]ole|user) "([^"]{1,63})"`)},
	{"user", regexp.MustCompile("(?:^|[\\s`'\"(])user=([^\\s`'\",)]{1,63})")},
	{"database", regexp.MustCompile(`database "([^"]{1,63})"`)},
	{"database", regexp.MustCompile("(?:^|[\\s`'\"(])(?:database|dbname)=([^\\s`'\",)]{1,63})")},
	{"host", regexp.MustCompile(`(?:connection to server at|could not translate host name|server at) ["` + "`" + `]([^"` + "`" + `]{1,253})["` + "`" + `]`)},
	{"host", regexp.MustCompile("failed to connect to `host=([^\\s`]{1,253})")},
	{"host", regexp.MustCompile(`getaddrinfo (?:ENOTFOUND|EAI_AGAIN) ([A-Za-z0-9.\-]{1,253})`)},
	{"host", regexp.MustCompile(`Connection to ([A-Za-z0-9.\-]{1,253}):\d+ refused`)},
	{"port", regexp.MustCompile(`, port (\d{1,5}) failed`)},
	{"port", regexp.MustCompile(`Connection to [A-Za-z0-9.\-]{1,253}:(\d{1,5}) refused`)},
}

// FactsFrom returns the facts a message names in its own words: user, database, host, port and client_addr (see
// [ClientAddr]). What the message does not name is left out, so that the steps say what to look up instead.
func FactsFrom(text string) Facts {
	f := Facts{}
	for _, p := range factPatterns {
		if f[p.name] != "" {
			continue
		}
		if m := p.rx.FindStringSubmatch(text); m != nil {
			f[p.name] = m[1]
		}
	}
	if a := ClientAddr(text); a != "" {
		f["client_addr"] = a
	}
	if h := f["host"]; h != "" {
		f.ForHost(h)
	}
	return f
}
