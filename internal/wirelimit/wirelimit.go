// Package wirelimit bounds what a PostgreSQL server can make pgtriage hold or wait for. Every byte a server sends
// passes a Framer, which reads the message headers as they stream by (without keeping the bodies) and stops the
// connection with an *Error as soon as the server sends what no PostgreSQL server sends in the exchanges pgtriage
// has with it: a message over MaxMessage, more than MaxExchange bytes without a ReadyForQuery (endless notices,
// rows or parameters), or more than MaxParameters bytes of ParameterStatus in one connection (pgx keeps every
// parameter in a map).
//
// Start with [Frontend] as a pgconn.Config's BuildFrontend; the catalog names an *Error
// protocol.misbehaving_server. A message count bounds the exchange too, so that a flood of small messages is
// stopped as soon as a big one, not only when the connection's deadline ends it.
package wirelimit

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgproto3"
)

const (
	// MaxMessage is the largest message body accepted. pgtriage's exchanges are a startup, an authentication and
	// queries of one short row: the largest message a real server sends in them is an error with its detail,
	// hint and context, a few kilobytes.
	MaxMessage = 1 << 20
	// MaxExchange is how many bytes may come between two ReadyForQuery messages (or before the first), and
	// MaxExchangeMessages how many messages: a startup is some thirty, a query of one row five.
	MaxExchange         = 4 << 20
	MaxExchangeMessages = 10000
	// MaxParameters is how many bytes of ParameterStatus messages a connection may receive in all: a server
	// reports some twenty settings at the start and one more when a reported setting changes.
	MaxParameters = 1 << 20
	// maxLength is PostgreSQL's own limit on a message (MaxAllocSize, 1 GB). A header announcing more is not
	// PostgreSQL at all (the bytes of "HTTP/" or "SSH-" read as a header do), which the callers tell apart.
	maxLength = 0x3fffffff
)

// Error says how the server went beyond the limits.
type Error struct {
	Type   byte // the message type byte, 0 for a total
	Reason string
}

func (e *Error) Error() string {
	return "the server misbehaves: " + e.Reason
}

// Framer follows the messages of a backend stream. The zero value is ready.
type Framer struct {
	// Observe, when set, receives every complete message; the body is only valid during the call. Bodies are
	// then kept until complete, which MaxMessage bounds.
	Observe func(typ byte, body []byte)

	hdr       [5]byte
	nhdr      int
	typ       byte
	remaining int    // body bytes still to come of the current message
	body      []byte // the current message's body, when observed
	exchange  int    // bytes since the last ReadyForQuery
	messages  int    // messages since the last ReadyForQuery
	params    int
	err       error
}

// NotPostgresError is the end of a stream that is not PostgreSQL messages: a header with a type byte no backend
// message has, or a length over PostgreSQL's own limit. Start holds the first bytes from that header on.
type NotPostgresError struct {
	Start []byte
}

func (e *NotPostgresError) Error() string {
	return fmt.Sprintf("not PostgreSQL messages: % x", e.Start)
}

// Scan follows the bytes p, read from the server after its answer to an SSLRequest. It returns an *Error once the
// server went beyond a limit, a *NotPostgresError once the bytes are no PostgreSQL messages, and the same error
// ever after.
func (f *Framer) Scan(p []byte) error {
	for len(p) > 0 && f.err == nil {
		if f.remaining == 0 && f.nhdr < 5 {
			n := copy(f.hdr[f.nhdr:], p)
			f.nhdr += n
			p = p[n:]
			if f.nhdr < 5 {
				return nil
			}
			f.start(p)
			continue
		}
		n := min(len(p), f.remaining)
		if f.Observe != nil {
			f.body = append(f.body, p[:n]...)
		}
		f.remaining -= n
		p = p[n:]
		if f.remaining == 0 {
			f.end()
		}
	}
	return f.err
}

// start reads a complete header; rest is what follows it in the bytes read.
func (f *Framer) start(rest []byte) {
	f.typ = f.hdr[0]
	if length := binary.BigEndian.Uint32(f.hdr[1:]); !isBackendType(f.typ) || length < 4 || length > maxLength {
		start := append(f.hdr[:5:5], rest[:min(len(rest), 59)]...)
		f.err = &NotPostgresError{Start: start}
		return
	}
	length := binary.BigEndian.Uint32(f.hdr[1:])
	size := int(length) - 4
	switch {
	case size > MaxMessage:
		f.err = &Error{Type: f.typ, Reason: fmt.Sprintf("%s of %d bytes (a real server's are under %d)", name(f.typ), size, MaxMessage)}
		return
	case f.exchange+5+size > MaxExchange:
		f.err = &Error{Type: f.typ, Reason: fmt.Sprintf("more than %d bytes without ReadyForQuery, the last a %s", MaxExchange, name(f.typ))}
		return
	case f.messages+1 > MaxExchangeMessages:
		f.err = &Error{Type: f.typ, Reason: fmt.Sprintf("more than %d messages without ReadyForQuery, the last %s", MaxExchangeMessages, name(f.typ))}
		return
	case f.typ == 'S' && f.params+size > MaxParameters:
		f.err = &Error{Type: f.typ, Reason: fmt.Sprintf("more than %d bytes of ParameterStatus messages", MaxParameters)}
		return
	}
	f.exchange += 5 + size
	f.messages++
	if f.typ == 'S' {
		f.params += size
	}
	f.remaining = size
	if size == 0 {
		f.end()
	}
}

// end closes a complete message.
func (f *Framer) end() {
	if f.Observe != nil {
		f.Observe(f.typ, f.body)
		f.body = f.body[:0]
	}
	if f.typ == 'Z' {
		f.exchange, f.messages = 0, 0
	}
	f.nhdr = 0
}

// Err is the error that ended the scan, or nil.
func (f *Framer) Err() error { return f.err }

// Frontend is a pgconn BuildFrontendFunc whose reads end with an *Error when the server goes beyond the limits,
// and with a *NotPostgresError when its bytes are no PostgreSQL messages (pgx would take them for a header and
// allocate the length it read there, up to a gigabyte).
func Frontend(r io.Reader, w io.Writer) *pgproto3.Frontend {
	return pgproto3.NewFrontend(Reader(r, &Framer{}), w)
}

// Reader passes on what r reads after f has scanned it, and ends with f's error.
func Reader(r io.Reader, f *Framer) io.Reader {
	return readFunc(func(p []byte) (int, error) {
		n, err := r.Read(p)
		if serr := f.Scan(p[:n]); serr != nil {
			return 0, serr
		}
		return n, err
	})
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// name is a backend message's name for errors, with its article.
func name(typ byte) string {
	switch typ {
	case 'E':
		return "an ErrorResponse"
	case 'N':
		return "a NoticeResponse"
	case 'S':
		return "a ParameterStatus"
	case 'D':
		return "a DataRow"
	case 'R':
		return "an authentication request"
	}
	return fmt.Sprintf("a message of type %q", typ)
}

// isBackendType says whether b is the type byte of a backend message of protocol 3.
func isBackendType(b byte) bool {
	switch b {
	case '1', '2', '3', 'A', 'C', 'D', 'E', 'G', 'H', 'I', 'K', 'N', 'R', 'S', 'T', 'V', 'W', 'Z', 'c', 'd', 'n', 's', 't', 'v':
		return true
	}
	return false
}
