package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pgtriage/pgtriage/catalog"
)

// sslRequest is the 8-byte message that asks a PostgreSQL server for TLS (protocol code 80877103).
var sslRequest = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), 80877103)

// nudge wakes a peer that waits for a line: an HTTP server reads our 8 bytes and waits for the end of the request
// line. Sent only when nothing answered the SSLRequest for a while, so a healthy server never sees it.
var nudge = []byte("\r\n\r\n")

// negotiation is what the server said to an SSLRequest.
type negotiation int

const (
	tlsAccepted negotiation = iota // 'S'
	tlsRefused                     // 'N'
	needRedial                     // PostgreSQL answered, but only after the nudge spoilt the connection
)

// requestTLS sends an SSLRequest and reads the answer. A reply that is not one byte of 'S' or 'N' means that
// something else listens on the port, and the failure says what (an HTTP status line, an SSH banner, the first
// bytes). When nothing comes back within nudgeAfter, the nudge is sent so that line-oriented servers answer at once.
func requestTLS(conn net.Conn, rec *recorder, deadline time.Time, nudgeAfter time.Duration) (negotiation, *failure) {
	_ = conn.SetDeadline(deadline)
	rec.event(">", "SSLRequest")
	if _, err := conn.Write(sslRequest); err != nil {
		return 0, networkFailure(StageProtocol, err, false)
	}
	buf := make([]byte, 512)
	nudged := false
	_ = conn.SetReadDeadline(earliest(deadline, time.Now().Add(nudgeAfter)))
	n, err := conn.Read(buf)
	if err != nil && isTimeout(err) && time.Now().Before(deadline) {
		nudged = true
		rec.event("-", "no answer to SSLRequest after %s: sending a blank line to make a line-oriented server speak", nudgeAfter)
		_ = conn.SetDeadline(deadline)
		if _, werr := conn.Write(nudge); werr == nil {
			n, err = conn.Read(buf)
		}
	}
	if n == 0 {
		if err != nil && isTimeout(err) {
			return 0, &failure{stage: StageProtocol, code: catalog.ServerUnresponsive,
				evidence: "TCP connected, but the SSLRequest got no reply before the deadline"}
		}
		return 0, networkFailure(StageProtocol, err, false)
	}
	_ = conn.SetDeadline(deadline) // the nudge's shorter read deadline must not outlive this exchange
	reply := buf[:n]
	if n == 1 && (reply[0] == 'S' || reply[0] == 'N') {
		rec.setAnswered()
		if nudged {
			rec.event("<", "%c (after the nudge: the server is PostgreSQL but slow; reconnecting)", reply[0])
			return needRedial, nil
		}
		if reply[0] == 'S' {
			rec.event("<", "S: the server offers TLS")
			return tlsAccepted, nil
		}
		rec.event("<", "N: the server does not offer TLS")
		return tlsRefused, nil
	}
	if reply[0] == 'E' && n > 5 {
		// An ErrorResponse instead of S or N: a server or pooler that refuses the request outright.
		rec.setAnswered()
		f := errorFields(reply[5:])
		rec.event("<", "ErrorResponse %s %s: %s", f['S'], f['C'], f['M'])
		return 0, serverFailure(StageProtocol, f['S'], f['C'], f['M'], f['D'])
	}
	rec.event("<", "%s", describeBytes(reply))
	return 0, notPostgres(StageProtocol, reply)
}

// notPostgres names what answered instead of PostgreSQL.
func notPostgres(stage StageName, reply []byte) *failure {
	return &failure{stage: stage, code: catalog.ProtocolNotPostgres, evidence: "the peer is not PostgreSQL: " + describeBytes(reply)}
}

// describeBytes says in a few words what a non-PostgreSQL peer sent.
func describeBytes(b []byte) string {
	line := string(b)
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	switch {
	case bytes.HasPrefix(b, []byte("HTTP/")):
		return "an HTTP server answered " + strconv.Quote(line)
	case bytes.HasPrefix(b, []byte("SSH-")):
		return "an SSH server answered " + strconv.Quote(line)
	case len(b) >= 3 && b[0] == 0x15 && b[1] == 3:
		return "a TLS server answered with an alert (it expects TLS at once, not PostgreSQL's SSLRequest)"
	case len(b) >= 3 && b[0] == 0x16 && b[1] == 3:
		return "a TLS server answered with a handshake (it expects TLS at once, not PostgreSQL's SSLRequest)"
	case printable(line) && line != "":
		if len(line) > 80 {
			line = line[:80]
		}
		return "the peer answered " + strconv.Quote(line)
	}
	return fmt.Sprintf("the peer answered %d bytes: % x", len(b), b[:min(len(b), 16)])
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
