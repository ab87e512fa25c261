package catalog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Message is a failure as a client or the server reported it: a SQLSTATE when known, and the text.
type Message struct {
	SQLState string
	Text     string
}

// Classify names the cause of a message. A matcher that names the SQLSTATE outranks text alone, and among text
// matches the longest pattern wins, so that "too many connections for role" beats "too many connections".
// Unknown is returned when nothing matches.
func Classify(m Message) *Cause {
	text := strings.ToLower(m.Text)
	var best *Cause
	bestScore := 0
	for i := range causes {
		c := &causes[i]
		for _, mt := range c.matchers {
			if s := mt.score(m.SQLState, text); s > bestScore {
				best, bestScore = c, s
			}
		}
	}
	if best == nil {
		return byCode[Unknown]
	}
	return best
}

// score is 0 when the matcher does not match; otherwise higher for a more specific match.
func (mt matcher) score(sqlstate, text string) int {
	score := 0
	if mt.sqlstate != "" {
		if !strings.EqualFold(mt.sqlstate, sqlstate) {
			return 0
		}
		score += 1000
	}
	if len(mt.text) == 0 {
		return score + 1
	}
	longest := 0
	for _, t := range mt.text {
		if rx, ok := compiled[t]; ok {
			if loc := rx.FindStringIndex(text); loc != nil && loc[1]-loc[0] > longest {
				longest = loc[1] - loc[0]
			}
		} else if len(t) > longest && strings.Contains(text, t) {
			longest = len(t)
		}
	}
	if longest == 0 {
		return 0
	}
	return score + 1 + longest
}

// ClassifyError names the cause of an error returned by pgx, database/sql or the Go network stack. The error's
// structure decides where it can (a server error's SQLSTATE, a DNS error, an errno, a certificate error); its text
// is the last resort.
func ClassifyError(err error) *Cause {
	if err == nil {
		return byCode[OK]
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return Classify(Message{SQLState: pgErr.Code, Text: pgErr.Message + "\n" + pgErr.Detail})
	}
	if code, ok := structuralCode(err); ok {
		return byCode[code]
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
	switch {
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
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ConnReset, true
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return TCPTimeout, true
	}
	return "", false
}
