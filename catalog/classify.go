package catalog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/internal/wirelimit"
)

// Message is a failure as a client or the server reported it: a SQLSTATE when known, and the text.
type Message struct {
	SQLState string
	Text     string
}

// Classify names the cause of a message. A matcher that names the SQLSTATE outranks text alone, and among text
// matches the longest pattern wins, so that "too many connections for role" beats "too many connections".
// Unknown is returned when nothing matches.
//
// Two rules keep a message from being recognised as the wrong thing. A server SQLSTATE (any class but 08, which
// clients give to every failure to connect) that a cause's matchers do not name rules out that cause's text
// patterns: `role "x" does not exist (SQLSTATE 42704)` is a GRANT failing, not a login. And words the server says
// as FATAL when it refuses a connection are a statement's error after `ERROR:` (a DROP DATABASE, a createdb).
func Classify(m Message) Cause {
	c, _, _ := classify(m)
	return *c
}

// Recognition is a cause recognised in a text, with the SQLSTATE found and where the deciding words are.
type Recognition struct {
	Cause    Cause
	SQLState string
	// Start and End are the byte offsets in the text of the pattern or SQLSTATE that decided; both 0 when the
	// cause is Unknown.
	Start, End int
}

// Recognize parses a text as any client or the server printed it (see [Parse]) and classifies it (see [Classify]).
func Recognize(text string) Recognition {
	m := Parse(text)
	c, start, end := classify(m)
	return Recognition{Cause: *c, SQLState: m.SQLState, Start: start, End: end}
}

func classify(m Message) (best *Cause, start, end int) {
	prepareOnce.Do(prepare)
	text := lowerASCII(m.Text)
	if strings.Contains(text, `\"`) {
		// A message inside JSON or a quoted log field: `database \"x\" does not exist` says what the plain one says.
		// (Start and End then point a little early in m.Text: they only mark the deciding words.)
		text = strings.ReplaceAll(text, `\"`, `"`)
	}
	var grams gramSet
	grams.fill(text)
	statementError := isStatementError(m.Text)
	bestScore := 0
	for i := range causes {
		c := &causes[i]
		blocked := m.SQLState != "" && !clientClass(m.SQLState) && c.namesOtherSQLState(m.SQLState)
		for j := range c.matchers {
			mt := &c.matchers[j]
			if mt.sqlstate == "" && blocked || mt.fatal && statementError {
				continue
			}
			if s, a, b := mt.score(m.SQLState, text, &grams); s > bestScore {
				best, bestScore, start, end = c, s, a, b
			}
		}
	}
	if best == nil {
		return byCode[Unknown], 0, 0
	}
	if end == 0 && m.SQLState != "" {
		if i := strings.Index(m.Text, m.SQLState); i >= 0 {
			start, end = i, i+len(m.SQLState)
		}
	}
	return best, start, end
}

// Severity words as the server prints them in the languages of translations.go (msgid "ERROR" and "FATAL" of
// src/backend/po/LANG.po): ERROR, FEHLER (de), ERREUR (fr), ERRORE (it), ОШИБКА (ru), FEL (sv), ПОМИЛКА (uk),
// 오류 (ko), 错误 (zh_CN), შეცდომა (ka); es and ja keep ERROR. FATAL is FATAL in de, es, fr and ja, and FATALE (it)
// and FATALT (sv) contain it.
var (
	errorWords = []string{"ERROR:", "FEHLER:", "ERREUR:", "ERRORE:", "ОШИБКА:", "FEL:", "ПОМИЛКА:", "오류:", "错误:", "შეცდომა:"}
	fatalWords = []string{"FATAL", "ВАЖНО", "ФАТАЛЬНО", "치명적오류", "致命错误", "ფატალური"}
)

// isStatementError reports whether a text is a statement's error: a server ERROR, in English or a translation, and
// no FATAL. (A Korean, Chinese or Georgian psql says "error:" with the server's word for ERROR, but a refused
// connection always has a FATAL too.)
func isStatementError(text string) bool {
	isError := false
	for _, w := range errorWords {
		if strings.Contains(text, w) {
			isError = true
			break
		}
	}
	if !isError {
		return false
	}
	for _, w := range fatalWords {
		if strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// namesOtherSQLState reports whether the cause has SQLSTATE matchers and none of them is sqlstate.
func (c *Cause) namesOtherSQLState(sqlstate string) bool {
	named := false
	for _, mt := range c.matchers {
		if mt.sqlstate != "" {
			if strings.EqualFold(mt.sqlstate, sqlstate) {
				return false
			}
			named = true
		}
	}
	return named
}

// lowerASCII lowers ASCII letters only, so that byte offsets stay those of the original text.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// score is 0 when the matcher does not match; otherwise higher for a more specific match, with where the text
// pattern matched (0, 0 for a SQLSTATE alone). A pattern whose anchor is not in the text's grams is not looked for.
func (mt *matcher) score(sqlstate, text string, grams *gramSet) (score, start, end int) {
	if mt.sqlstate != "" {
		if !strings.EqualFold(mt.sqlstate, sqlstate) {
			return 0, 0, 0
		}
		score += 1000
	}
	if len(mt.text) == 0 {
		return score + 1, 0, 0
	}
	longest := 0
	for i := range mt.prepared {
		p := &mt.prepared[i]
		if !grams.has(p.anchor) {
			continue
		}
		if p.rx != nil {
			if !containsAll(text, p.runs) {
				continue
			}
			if loc := p.rx.FindStringIndex(text); loc != nil && loc[1]-loc[0] > longest {
				longest, start, end = loc[1]-loc[0], loc[0], loc[1]
			}
		} else if len(p.text) > longest {
			if i := strings.Index(text, p.text); i >= 0 {
				longest, start, end = len(p.text), i, i+len(p.text)
			}
		}
	}
	if longest == 0 {
		return 0, 0, 0
	}
	if mt.weak {
		return 1, start, end
	}
	return score + 1 + longest, start, end
}

func containsAll(text string, runs []string) bool {
	for _, r := range runs {
		if !strings.Contains(text, r) {
			return false
		}
	}
	return true
}

// gramSet is a small Bloom filter of the four-byte pieces of a text: it tells most absent patterns from present
// ones before any search.
type gramSet [64]uint64

func (g *gramSet) fill(lower string) {
	*g = gramSet{}
	var h uint32
	for i := 0; i < len(lower); i++ {
		h = h<<8 | uint32(lower[i])
		x := (h * 0x9E3779B1) >> 20
		g[x>>6&63] |= 1 << (x & 63)
	}
}

func (g *gramSet) has(h uint32) bool {
	x := (h * 0x9E3779B1) >> 20
	return g[x>>6&63]&(1<<(x&63)) != 0
}

// ClassifyError names the cause of an error returned by pgx, database/sql or the Go network stack. The error's
// structure decides where it can (a server error's SQLSTATE, a DNS error, an errno, a certificate error); its text
// is the last resort.
func ClassifyError(err error) Cause {
	if err == nil {
		return *byCode[OK]
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return Classify(Message{SQLState: pgErr.Code, Text: pgErr.Message + "\n" + pgErr.Detail})
	}
	// Other drivers' server errors (lib/pq's *pq.Error) say their SQLSTATE through this method.
	var stateErr interface{ SQLState() string }
	if errors.As(err, &stateErr) {
		return Classify(Message{SQLState: stateErr.SQLState(), Text: err.Error()})
	}
	if code, ok := structuralCode(err); ok {
		return *byCode[code]
	}
	return Classify(Message{Text: err.Error()})
}

// structuralCode classifies by Go error types and errno values, never by text.
func structuralCode(err error) (Code, bool) {
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var certVerify *tls.CertificateVerificationError
	var recordHeader tls.RecordHeaderError
	var misbehaving *wirelimit.Error
	var notPostgres *wirelimit.NotPostgresError
	switch {
	case errors.As(err, &misbehaving):
		return ProtocolMisbehaving, true
	case errors.As(err, &notPostgres):
		return ProtocolNotPostgres, true
	case errors.Is(err, pgconn.ErrReadOnlyConnection):
		return ServerReadOnly, true
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return DNSNotFound, true
		}
		return DNSFailed, true
	case errors.As(err, &hostnameErr):
		return TLSHostnameMismatch, true
	case errors.As(err, &unknownAuthority):
		return TLSUntrustedCert, true
	case errors.As(err, &invalidCert):
		if invalidCert.Reason == x509.Expired {
			return TLSExpiredCert, true
		}
		return TLSUntrustedCert, true
	case errors.As(err, &certVerify):
		return TLSUntrustedCert, true
	case errors.As(err, &recordHeader):
		return ProtocolNotPostgres, true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		// ENOENT: no socket file in the unix-socket directory, libpq's "Is the server running locally".
		return TCPRefused, true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return TCPUnreachable, true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, driver.ErrBadConn):
		// database/sql drivers say driver.ErrBadConn for a connection found broken (pgx's stdlib: before sending).
		return ConnReset, true
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return TCPTimeout, true
	}
	return "", false
}
