package settings

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pgtriage/pgtriage/internal/spell"
)

// parsedConnString is what the connection string itself says: libpq keywords
// (dbname, not pgx's "database") with decoded values, the last occurrence
// winning. pgx's own parsers are private, so this one exists to know which
// keywords the string carries (provenance) and to reject unknown keywords; the
// values used for connecting still come from pgx.
type parsedConnString struct {
	values map[string]string
	url    bool
	// strayAt is set when a URL has an '@' after its host part. libpq then
	// parses a mistyped password (one with an unencoded '/') into the port,
	// host or database name, so values from those parts are not quoted in
	// errors.
	strayAt bool
}

const spaces = " \t\n\r\v\f"

func isURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func parseConnString(s string) (parsedConnString, error) {
	p := parsedConnString{values: map[string]string{}, url: isURL(s)}
	if strings.IndexByte(s, 0) >= 0 {
		// libpq never sees a NUL (C strings end there); in Go it would reach
		// the startup packet, where NUL separates parameters.
		return p, &Error{Msg: "connection string contains a NUL byte"}
	}
	if p.url {
		return p, p.parseURL(s)
	}
	return p, p.parseKeywordValue(s)
}

// parseKeywordValue follows libpq's conninfo_parse as pgx implements it:
// keyword = value pairs separated by white space, values optionally in single
// quotes, a backslash taking the next character literally.
func (p *parsedConnString) parseKeywordValue(s string) error {
	prevSecret := false
	s = strings.TrimLeft(s, spaces)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return &Error{Msg: "invalid connection string: missing \"=\" after " + nameForError(strings.TrimRight(s, spaces), prevSecret)}
		}
		key := strings.Trim(s[:eq], spaces)
		if i := strings.IndexAny(key, spaces); i >= 0 {
			return &Error{Msg: "invalid connection string: missing \"=\" after " + nameForError(key[:i], prevSecret)}
		}
		if key == "" {
			return &Error{Msg: "invalid connection string: \"=\" without a keyword before it"}
		}
		s = strings.TrimLeft(s[eq+1:], spaces)
		var val string
		if strings.HasPrefix(s, "'") {
			end, ok := scanQuoted(s[1:])
			if !ok {
				return &Error{Keyword: key, Msg: fmt.Sprintf("invalid connection string: unterminated quoted string in the value of %q", key)}
			}
			val = unescape(s[1 : 1+end])
			s = s[end+2:]
		} else {
			end := scanUnquoted(s)
			val = unescape(s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, spaces)
		kw, known := keywords[key]
		if !known {
			return &Error{Keyword: safeName(key), Msg: "invalid connection option " + nameForError(key, prevSecret) + suggest(key, prevSecret)}
		}
		prevSecret = kw.secret
		if key == "user" && val == "" {
			continue // pgx skips an empty user, so PGUSER still applies
		}
		p.values[key] = val
	}
	return nil
}

// scanQuoted returns the index of the closing quote in s (which follows the
// opening quote).
func scanQuoted(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			return i, true
		case '\\':
			i++
		}
	}
	return 0, false
}

func scanUnquoted(s string) int {
	i := 0
	for ; i < len(s) && !strings.ContainsRune(spaces, rune(s[i])); i++ {
		if s[i] == '\\' {
			i++
		}
	}
	return min(i, len(s))
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// nameForError quotes a keyword for an error message unless it may be part of
// a password: a keyword right after an unquoted password value is usually the
// rest of a password that contains a space.
func nameForError(name string, prevSecret bool) string {
	if name == "" {
		return "an empty keyword"
	}
	if prevSecret {
		return "(name not shown: it follows an unquoted password and may be part of it; quote values that contain spaces)"
	}
	if safeName(name) == "" {
		return "a keyword (not shown: it contains unusual characters)"
	}
	return fmt.Sprintf("%q", name)
}

// safeName returns name if it looks like a keyword, else "": a string of other
// characters may be a secret pasted in the wrong place.
func safeName(name string) string {
	if name == "" || len(name) > 64 {
		return ""
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return ""
		}
	}
	return name
}

// parseURL follows libpq's conninfo_uri_parse as pgx implements it. net/url
// does not fit: it rejects libpq's multi-host form with IPv6
// ("[::1]:5432,h2"), accepts what libpq rejects (spaces), and quotes the whole
// URL, password included, in its errors.
func (p *parsedConnString) parseURL(s string) error {
	rest, ok := strings.CutPrefix(s, "postgresql://")
	if !ok {
		rest, _ = strings.CutPrefix(s, "postgres://")
	}
	// Like libpq, only a '/' stops the search for the userinfo '@'.
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		user, password, hasPassword := strings.Cut(rest[:i], ":")
		rest = rest[i+1:]
		if user != "" {
			v, err := uriDecode(user)
			if err != nil {
				return urlError("user name", err)
			}
			p.values["user"] = v
		}
		if hasPassword && password != "" {
			v, err := uriDecode(password)
			if err != nil {
				return urlError("password", err)
			}
			p.values["password"] = v
		}
	}
	netloc := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		netloc = rest[:i]
	}
	if strings.Contains(rest, "@") {
		p.strayAt = true
		if strings.Contains(netloc, "@") {
			return &Error{Msg: `malformed URL: "@" in the host part; percent-encode "@", "/" and ":" in a user name or password (%40, %2F, %3A)`}
		}
	}

	var hosts, ports strings.Builder
	for {
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return &Error{Keyword: "host", Msg: `malformed URL: missing "]" after an IPv6 address`}
			}
			if end == 1 {
				return &Error{Keyword: "host", Msg: "malformed URL: empty IPv6 address"}
			}
			hosts.WriteString(rest[1:end])
			rest = rest[end+1:]
			if rest != "" && !strings.ContainsRune(":/?,", rune(rest[0])) {
				return &Error{Keyword: "host", Msg: `malformed URL: unexpected character after an IPv6 address (expected ":", "/", "?" or ",")`}
			}
		} else {
			i := strings.IndexAny(rest, ":/?,")
			if i < 0 {
				i = len(rest)
			}
			hosts.WriteString(rest[:i])
			rest = rest[i:]
		}
		if strings.HasPrefix(rest, ":") {
			rest = rest[1:]
			i := strings.IndexAny(rest, "/?,")
			if i < 0 {
				i = len(rest)
			}
			ports.WriteString(rest[:i])
			rest = rest[i:]
		}
		if !strings.HasPrefix(rest, ",") {
			break
		}
		rest = rest[1:]
		hosts.WriteByte(',')
		ports.WriteByte(',')
	}
	if hosts.Len() > 0 {
		v, err := uriDecode(hosts.String())
		if err != nil {
			return urlError("host", err)
		}
		p.values["host"] = v
	}
	if ports.Len() > 0 {
		v, err := uriDecode(ports.String())
		if err != nil {
			return urlError("port", err)
		}
		p.values["port"] = v
	}
	if strings.HasPrefix(rest, "/") {
		db, query, _ := strings.Cut(rest[1:], "?")
		rest = "?" + query
		if db != "" {
			v, err := uriDecode(db)
			if err != nil {
				return urlError("database name", err)
			}
			p.values["dbname"] = v
		}
	}
	if query, ok := strings.CutPrefix(rest, "?"); ok && query != "" {
		return p.parseQuery(query)
	}
	return nil
}

func (p *parsedConnString) parseQuery(query string) error {
	for pair := range strings.SplitSeq(query, "&") {
		rawKey, rawValue, found := strings.Cut(pair, "=")
		key, err := uriDecode(rawKey)
		if err != nil {
			return urlError("query parameter name", err)
		}
		if !found || strings.Contains(rawValue, "=") {
			return &Error{Keyword: safeName(key), Msg: "malformed URL: query parameter " + nameForError(key, false) + ` needs exactly one "="`}
		}
		value, err := uriDecode(rawValue)
		if err != nil {
			return urlError(fmt.Sprintf("the value of %s", nameForError(key, keywords[key].secret)), err)
		}
		if key == "ssl" && value == "true" {
			// libpq's JDBC compatibility alias for sslmode=require.
			key, value = "sslmode", "require"
		}
		if _, known := keywords[key]; !known {
			return &Error{Keyword: safeName(key), Msg: "invalid URI query parameter " + nameForError(key, false) + suggest(key, false)}
		}
		p.values[key] = value
	}
	return nil
}

func urlError(part string, err error) error {
	return &Error{Msg: "malformed URL: " + err.Error() + " in " + part}
}

// uriDecode percent-decodes like libpq's conninfo_uri_decode: "%" and two hex
// digits, %00 forbidden, surrounding spaces ignored, inner spaces rejected.
// Its errors never quote the input.
func uriDecode(raw string) (string, error) {
	raw = strings.Trim(raw, " ")
	if strings.Contains(raw, " ") {
		return "", fmt.Errorf("unencoded space (use %%20)")
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '%' {
			b.WriteByte(raw[i])
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return "", fmt.Errorf("invalid percent-encoding")
		}
		c := unhex(raw[i+1])<<4 | unhex(raw[i+2])
		if c == 0 {
			return "", fmt.Errorf("forbidden %%00")
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// suggest names the keyword that an unknown one is probably a typo of.
func suggest(name string, prevSecret bool) string {
	if prevSecret || safeName(name) == "" {
		return ""
	}
	best := spell.Nearest(strings.ToLower(name), slices.Collect(maps.Keys(keywords)), 2)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
