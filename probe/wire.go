package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgtriage/pgtriage/internal/wirelimit"
)

// tracer collects the trace of a whole check: network events and protocol messages, never a secret. It keeps them
// only when the trace was asked for, and then at most maxTraceEvents of at most maxTraceMessage bytes each, so that
// a server sending messages without end costs no memory.
type tracer struct {
	mu      sync.Mutex
	start   time.Time
	keep    bool
	events  []TraceEvent
	dropped int
}

const (
	maxTraceEvents  = 2000
	maxTraceMessage = 1000
)

func (t *tracer) event(dir, format string, args ...any) {
	if !t.keep {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.events) >= maxTraceEvents {
		t.dropped++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if len(msg) > maxTraceMessage {
		msg = strings.ToValidUTF8(msg[:maxTraceMessage], "") + fmt.Sprintf("... (%d bytes in all)", len(msg))
	}
	t.events = append(t.events, TraceEvent{AtMS: ms(time.Since(t.start)), Direction: dir, Message: msg})
}

// trace returns the events kept, with a last one saying how many more were not.
func (t *tracer) trace() []TraceEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.events)
	if t.dropped > 0 {
		out = append(out, TraceEvent{AtMS: ms(time.Since(t.start)), Direction: "-", Message: fmt.Sprintf("%d more events not kept", t.dropped)})
	}
	return out
}

// recorder is what the protocol messages of one attempt revealed: the authentication methods the server asked for
// and whether a PostgreSQL server answered at all. It never keeps a password or a SASL payload.
type recorder struct {
	*tracer
	mu       sync.Mutex
	answered bool     // a PostgreSQL reply arrived (an SSLRequest answer or a backend message)
	methods  []string // authentication requests, in order ("SASL: SCRAM-SHA-256", "md5", "password", ...)
	asked    time.Time
	authOK   bool // AuthenticationOk arrived
	// saslFinal is set when the server proved it knows the password (SCRAM's server signature arrived).
	saslFinal bool
	// afterPassword is set once the client sent a password or SASL message: errors after it are the auth stage's.
	afterPassword bool
	// garbage holds the first bytes of a reply that is not a PostgreSQL message.
	garbage []byte
}

// heardBack says whether the peer sent anything at all, PostgreSQL or not.
func (r *recorder) heardBack() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.answered || r.garbage != nil
}

func (r *recorder) setAnswered() {
	r.mu.Lock()
	r.answered = true
	r.mu.Unlock()
}

// wire decodes the PostgreSQL messages pgx reads and writes, for the recorder. It wraps the streams of pgx's
// frontend (Config.BuildFrontend) rather than the connection, so that pgx keeps the *tls.Conn itself and can bind
// SCRAM to the TLS channel (SCRAM-SHA-256-PLUS). What the server sends passes a wirelimit.Framer, which ends the
// connection when the server goes beyond what any PostgreSQL server sends.
type wire struct {
	rec         *recorder
	framer      wirelimit.Framer
	out         []byte // a partial frontend message
	startupSent bool   // the first frontend message has no type byte
	lastAuth    uint32 // the last authentication request: what a 'p' message answers
	stopped     bool   // the framer stopped: the failure is recorded
}

type writeFunc func([]byte) (int, error)

func (f writeFunc) Write(p []byte) (int, error) { return f(p) }

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// frontend builds pgx's frontend over recording streams.
func (c *wire) frontendBuilder(r io.Reader, w io.Writer) *pgproto3.Frontend {
	c.framer.Observe = c.backend
	in := wirelimit.Reader(r, &c.framer)
	return pgproto3.NewFrontend(readFunc(func(p []byte) (int, error) {
		n, err := in.Read(p)
		if err := c.framer.Err(); err != nil && !c.stopped {
			c.stopped = true
			c.stop(err)
		}
		return n, err
	}), writeFunc(func(p []byte) (int, error) {
		c.sent(p)
		return w.Write(p)
	}))
}

// stop records why the framer stopped: bytes that are no PostgreSQL messages, or a server beyond the limits.
func (c *wire) stop(err error) {
	var garbage *wirelimit.NotPostgresError
	if !errors.As(err, &garbage) {
		c.rec.event("-", "%v", err)
		return
	}
	c.rec.mu.Lock()
	if c.rec.garbage == nil {
		c.rec.garbage = garbage.Start
	}
	c.rec.mu.Unlock()
	c.rec.event("-", "bytes that are not a PostgreSQL message: %s", describeBytes(garbage.Start))
}

func (c *wire) sent(p []byte) {
	c.out = append(c.out, p...)
	if !c.startupSent && len(c.out) >= 8 {
		l := int(binary.BigEndian.Uint32(c.out))
		if l >= 8 && len(c.out) >= l {
			c.startup(c.out[4:l])
			c.out = c.out[l:]
			c.startupSent = true
		}
	}
	if !c.startupSent {
		return
	}
	// pgtriage's own messages: complete ones are decoded, the rest waits for the next write.
	for len(c.out) >= 5 {
		l := int(binary.BigEndian.Uint32(c.out[1:5]))
		if len(c.out) < 1+l {
			break
		}
		c.frontend(c.out[0], c.out[5:1+l])
		c.out = c.out[1+l:]
	}
}

func (c *wire) startup(body []byte) {
	if len(body) < 4 {
		return
	}
	version := binary.BigEndian.Uint32(body)
	fields := cstrings(body[4:])
	var parts []string
	for i := 0; i+1 < len(fields); i += 2 {
		parts = append(parts, fields[i]+"="+fields[i+1])
	}
	c.rec.event(">", "StartupMessage protocol %d.%d %s", version>>16, version&0xffff, strings.Join(parts, " "))
}

func (c *wire) frontend(typ byte, body []byte) {
	switch typ {
	case 'p':
		// PasswordMessage, SASLInitialResponse and SASLResponse share the type byte; none of their contents is shown.
		c.rec.mu.Lock()
		c.rec.afterPassword = true
		c.rec.mu.Unlock()
		switch c.lastAuth {
		case 10:
			// SASLInitialResponse: the mechanism is no secret, the client-first message is not shown.
			mech, _, _ := strings.Cut(string(body), "\x00")
			c.rec.event(">", "SASLInitialResponse %s (client nonce not shown)", mech)
		case 11:
			c.rec.event(">", "SASLResponse (client proof, not shown)")
		default:
			c.rec.event(">", "PasswordMessage (not shown)")
		}
	case 'Q':
		q := strings.Join(strings.Fields(strings.TrimRight(string(body), "\x00")), " ")
		if len(q) > 100 {
			q = q[:100] + "..."
		}
		c.rec.event(">", "Query %q", q)
	case 'X':
		c.rec.event(">", "Terminate")
	default:
		c.rec.event(">", "message %q (%d bytes)", typ, len(body))
	}
}

// authNames are the AuthenticationRequest codes of the protocol.
var authNames = map[uint32]string{
	0: "ok", 2: "Kerberos V5", 3: "password", 5: "md5", 7: "GSS", 8: "GSS continue", 9: "SSPI",
	10: "SASL", 11: "SASL continue", 12: "SASL final",
}

func (c *wire) backend(typ byte, body []byte) {
	c.rec.setAnswered()
	switch typ {
	case 'R':
		if len(body) < 4 {
			return
		}
		code := binary.BigEndian.Uint32(body)
		c.lastAuth = code
		switch code {
		case 0:
			c.rec.mu.Lock()
			c.rec.authOK = true
			c.rec.mu.Unlock()
			c.rec.event("<", "AuthenticationOk")
		case 10:
			mechs := cstrings(body[4:])
			c.rec.addMethod(strings.Join(mechs, ", "))
			c.rec.event("<", "AuthenticationSASL mechanisms: %s", strings.Join(mechs, ", "))
		case 11:
			c.rec.event("<", "AuthenticationSASLContinue (server nonce and salt, not shown)")
		case 12:
			c.rec.mu.Lock()
			c.rec.saslFinal = true
			c.rec.mu.Unlock()
			c.rec.event("<", "AuthenticationSASLFinal (server signature, not shown)")
		default:
			name := authNames[code]
			if name == "" {
				name = fmt.Sprintf("method %d", code)
			}
			c.rec.addMethod(name)
			c.rec.event("<", "Authentication request: %s", name)
		}
	case 'E', 'N':
		f := errorFields(body)
		kind := "ErrorResponse"
		if typ == 'N' {
			kind = "NoticeResponse"
		}
		c.rec.event("<", "%s %s %s: %s", kind, f['S'], f['C'], f['M'])
	case 'S':
		if kv := cstrings(body); len(kv) == 2 {
			c.rec.event("<", "ParameterStatus %s=%s", kv[0], kv[1])
		}
	case 'K':
		c.rec.event("<", "BackendKeyData")
	case 'Z':
		c.rec.event("<", "ReadyForQuery (%s)", string(body))
	case 'v':
		c.rec.event("<", "NegotiateProtocolVersion")
	case 'T':
		c.rec.event("<", "RowDescription")
	case 'D':
		c.rec.event("<", "DataRow")
	case 'C':
		c.rec.event("<", "CommandComplete %s", strings.TrimRight(string(body), "\x00"))
	default:
		c.rec.event("<", "message %q (%d bytes)", typ, len(body))
	}
}

func (r *recorder) addMethod(m string) {
	r.mu.Lock()
	if len(r.methods) == 0 {
		r.asked = time.Now()
	}
	r.methods = append(r.methods, m)
	r.mu.Unlock()
}

// askedAt is when the server first asked for an authentication method; zero when it never did.
func (r *recorder) askedAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.asked
}

// cstrings splits a run of NUL-terminated strings, dropping the final empty one.
func cstrings(b []byte) []string {
	parts := strings.Split(string(b), "\x00")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// errorFields decodes the fields of an ErrorResponse or NoticeResponse.
func errorFields(body []byte) map[byte]string {
	f := map[byte]string{}
	for len(body) > 1 && body[0] != 0 {
		t := body[0]
		end := 1
		for end < len(body) && body[end] != 0 {
			end++
		}
		f[t] = string(body[1:end])
		if end >= len(body) {
			break
		}
		body = body[end+1:]
	}
	return f
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
