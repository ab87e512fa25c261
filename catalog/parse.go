package catalog

import (
	"regexp"
	"strings"
)

// Parse reads a failure as any client or the server printed it, framing and all, and returns the SQLSTATE the
// framing carries (empty when it carries none) with the text. It knows the framings of the common clients:
//
//	pgx, sqlx, tokio-postgres   ... (SQLSTATE 28P01)   SqlState(E28P01)
//	lib/pq                      pq: ... (28P01)
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

// sqlstateClasses are the classes of PostgreSQL's errcodes.txt; a five-character token outside them is not a
// SQLSTATE (a port, a process id, a word).
var sqlstateClasses = map[string]bool{}

func init() {
	for _, c := range strings.Fields("00 01 02 03 08 09 0A 0B 0F 0L 0P 0Z 20 21 22 23 24 25 26 27 28 2B 2D 2F 34 38 39 3B 3D 3F 40 42 44 53 54 55 57 58 72 F0 HV P0 XX") {
		sqlstateClasses[c] = true
	}
}

// sqlstateOf finds the first SQLSTATE in one of the framings of Parse: a token of five upper-case letters and
// digits, with a digit, of a known class, where the words around it say it is one. It looks at each token once,
// without regular expressions: a whole log goes through here.
func sqlstateOf(text string) string {
	for i := 0; i < len(text); {
		if !isCodeByte(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isAlnum(text[j]) {
			j++
		}
		tok := text[i:j]
		if len(tok) == 6 && tok[0] == 'E' && isCode(tok[1:]) && hasSuffixFold(text[:i], "sqlstate(") {
			return tok[1:] // tokio-postgres: SqlState(E28P01)
		}
		if len(tok) == 5 && isCode(tok) && framed(text, i, j) {
			return tok
		}
		i = j
	}
	return ""
}

func isCodeByte(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool { return isCodeByte(c) || 'a' <= c && c <= 'z' || c == '_' }

func isCode(tok string) bool {
	digit := false
	for i := 0; i < len(tok); i++ {
		if !isCodeByte(tok[i]) {
			return false
		}
		digit = digit || tok[i] <= '9'
	}
	return digit && tok != "00000" && sqlstateClasses[tok[:2]]
}

// framed reports whether the words around text[i:j] say it is a SQLSTATE.
func framed(text string, i, j int) bool {
	// Before it, across at most four characters of punctuation and space: "SQLSTATE", "SQL State", "code",
	// "pgcode", or a severity in capitals ("FATAL 28P01", "ERROR: 28P01", "PGFATAL [28P01]").
	k := i
	for k > 0 && i-k < 4 && !isAlnum(text[k-1]) {
		k--
	}
	before := text[:k]
	if k < i || hasSuffixFold(before, "sqlstate") {
		for _, w := range []string{"sqlstate", "sql state", "code"} {
			if hasSuffixFold(before, w) {
				return true
			}
		}
		for _, w := range []string{"FATAL", "ERROR", "PANIC"} {
			if strings.HasSuffix(before, w) {
				return true
			}
		}
	}
	// lib/pq: "pq: the database system is starting up (57P03)", the code in parentheses on a line lib/pq began.
	if i > 0 && text[i-1] == '(' && strings.HasPrefix(text[j:], ")") {
		lineStart := strings.LastIndexByte(text[:i], '\n') + 1
		if strings.Contains(text[lineStart:i], "pq: ") {
			return true
		}
	}
	// After it: "28P01: " or "28P01:210:" (Npgsql, libpq's verbose errors), from the start of a line or after
	// space, ':', '>' or ']'; or, at the start of a line or after space, a severity and ':' (a server log whose
	// log_line_prefix has %e).
	rest := text[j:]
	if (i == 0 || strings.IndexByte(" \t\n:>]", text[i-1]) >= 0) && len(rest) >= 2 && rest[0] == ':' &&
		(rest[1] == ' ' || '0' <= rest[1] && rest[1] <= '9') {
		return true
	}
	if i == 0 || text[i-1] == ' ' || text[i-1] == '\t' || text[i-1] == '\n' {
		rest = strings.TrimPrefix(rest, ":")
		if trimmed := strings.TrimLeft(rest, " \t"); len(trimmed) < len(rest) {
			for _, sev := range []string{"FATAL:", "ERROR:", "PANIC:", "WARNING:", "LOG:"} {
				if strings.HasPrefix(trimmed, sev) {
					return true
				}
			}
		}
	}
	return false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// clientClass is SQLSTATE class 08, connection exception: clients (libpq for PDO, PgJDBC, pgbouncer) give it to any
// failure to connect, so it says nothing about which one.
func clientClass(sqlstate string) bool { return strings.HasPrefix(sqlstate, "08") }

// Facts found in a message's own words, for the steps: the role, the database, the host and port the client tried,
// and the client address the server saw.
var factPatterns = []struct {
	name Fact
	rx   *regexp.Regexp
}{
	{FactUser, regexp.MustCompile(`(?:for user|[Rr]ole|user) "([^"]{1,63})"`)},
	{FactUser, regexp.MustCompile("(?:^|[\\s`'\"(])user=([^\\s`'\",)]{1,63})")},
	{FactDatabase, regexp.MustCompile(`database "([^"]{1,63})"`)},
	{FactDatabase, regexp.MustCompile("(?:^|[\\s`'\"(])(?:database|dbname)=([^\\s`'\",)]{1,63})")},
	{FactHost, regexp.MustCompile(`(?:connection to server at|could not translate host name|server at) ["` + "`" + `]([^"` + "`" + `]{1,253})["` + "`" + `]`)},
	{FactHost, regexp.MustCompile("failed to connect to `host=([^\\s`]{1,253})")},
	{FactHost, regexp.MustCompile(`getaddrinfo (?:ENOTFOUND|EAI_AGAIN) ([A-Za-z0-9.\-]{1,253})`)},
	{FactHost, regexp.MustCompile(`Connection to ([A-Za-z0-9.\-]{1,253}):\d+ refused`)},
	{FactAddress, regexp.MustCompile(`dial tcp \[?([0-9A-Fa-f.:]{2,45}?)\]?:\d{1,5}:`)},
	{FactAddress, regexp.MustCompile(`connection to server at "[^"]{1,253}" \(([0-9A-Fa-f.:]{2,45})\)`)},
	{FactPort, regexp.MustCompile(`, port (\d{1,5}) failed`)},
	{FactPort, regexp.MustCompile(`dial tcp \S+:(\d{1,5}):`)},
	{FactPort, regexp.MustCompile(`Connection to [A-Za-z0-9.\-]{1,253}:(\d{1,5}) refused`)},
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
		f[FactClientAddr] = a
	}
	if h := f[FactHost]; h != "" {
		f = f.ForHost(h)
	}
	return f
}
