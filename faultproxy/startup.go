package faultproxy

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Request codes of the startup packets that are not a StartupMessage.
const (
	cancelRequestCode = 80877102
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	// maxStartupPacket is the server's MAX_STARTUP_PACKET_LENGTH.
	maxStartupPacket = 10000
	// maxStartupMessage bounds one message of the authentication exchange.
	maxStartupMessage = 1 << 20
)

var (
	sslRequest       = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), sslRequestCode)
	errUpstreamNoTLS = errors.New("the upstream refused TLS (answered 'N' to SSLRequest)")
)

// startup is what a client asked for before its session.
type startup struct {
	cancel []byte            // a CancelRequest packet, as received
	raw    []byte            // the StartupMessage packet, as received
	params map[string]string // its parameters
}

// readStartup reads the client's first packets: it answers SSLRequest ('S'
// and a TLS handshake, or 'N') and GSSENCRequest ('N') itself, and returns at
// the StartupMessage or CancelRequest.
func (c *conn) readStartup() (*startup, error) {
	for {
		c.cl.SetReadDeadline(time.Now().Add(startupTimeout))
		pkt, err := readPacket(c.cl)
		if err != nil {
			return nil, err
		}
		code := binary.BigEndian.Uint32(pkt[4:8])
		switch {
		case code == sslRequestCode && !c.tls:
			if c.p.clientTLS == nil {
				if err := writeTimeout(c.cl, []byte{'N'}); err != nil {
					return nil, err
				}
				continue
			}
			if err := writeTimeout(c.cl, []byte{'S'}); err != nil {
				return nil, err
			}
			c.lc = &loopConn{Conn: c.client}
			tc := tls.Server(c.lc, c.p.clientTLS)
			c.client.SetDeadline(time.Now().Add(startupTimeout))
			if err := tc.HandshakeContext(c.p.ctx); err != nil {
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			c.client.SetDeadline(time.Time{})
			c.cl, c.tls = tc, true
		case code == gssEncRequestCode:
			if err := writeTimeout(c.cl, []byte{'N'}); err != nil {
				return nil, err
			}
		case code == cancelRequestCode && len(pkt) == 16:
			return &startup{cancel: pkt}, nil
		case code>>16 == 3:
			var m pgproto3.StartupMessage
			if err := m.Decode(pkt[4:]); err != nil {
				return nil, err
			}
			return &startup{raw: pkt, params: m.Parameters}, nil
		default:
			return nil, fmt.Errorf("unsupported startup packet code %d", code)
		}
	}
}

// readPacket reads a length-prefixed startup packet, length included.
func readPacket(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 8 || n > maxStartupPacket {
		return nil, fmt.Errorf("invalid startup packet length %d", n)
	}
	pkt := make([]byte, n)
	copy(pkt, hdr[:])
	_, err := io.ReadFull(r, pkt[4:])
	return pkt, err
}

// readMessage reads one typed protocol message, header included.
func readMessage(r io.Reader) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > maxStartupMessage {
		return nil, fmt.Errorf("invalid message length %d (type %q)", n, hdr[0])
	}
	msg := make([]byte, 1+n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[5:])
	return msg, err
}

// forwardCancel sends a CancelRequest to the upstream as it came: the client's
// BackendKeyData came from the upstream unchanged, so the upstream knows it.
func (c *conn) forwardCancel(pkt []byte) error {
	up, err := c.dialUpstream(c.p.ctx)
	if err != nil {
		return err
	}
	if !c.setUpstream(up) {
		return net.ErrClosed
	}
	if err := writeTimeout(up, pkt); err != nil {
		return err
	}
	// The server closes the connection once it has read the request; waiting
	// for that keeps the cancel ahead of the client's next step.
	up.SetReadDeadline(time.Now().Add(c.p.cfg.DialTimeout))
	_, err = up.Read(make([]byte, 1))
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return err
}

// startSession runs the startup faults, relays the authentication exchange
// to the upstream, and then the session.
func (c *conn) startSession(st *startup) string {
	p := st.params
	c.ev.User, c.ev.Database, c.ev.App = p["user"], p["database"], p["application_name"]
	if c.ev.Database == "" {
		c.ev.Database = c.ev.User
	}
	var (
		inject       *startupError
		injectFault  *Fault
		resetStartup *Fault
		readOnly     bool
	)
	for _, f := range c.acting() {
		switch {
		case f.Kind == KindError && inject == nil:
			e := startupErrors[f.Cause]
			inject, injectFault = &e, f
		case f.Kind == KindReset && f.At == AtStartup && resetStartup == nil:
			resetStartup = f
		case f.Kind == KindReadOnly && !readOnly:
			readOnly = true
			c.emit(EventFault, f, "", "default_transaction_read_only=on")
		}
	}
	sendError := func() string {
		facts := map[string]string{"user": c.ev.User, "database": c.ev.Database, "encryption": "no encryption"}
		facts["client_addr"], _, _ = net.SplitHostPort(c.ev.Client)
		if c.tls {
			facts["encryption"] = "SSL encryption"
		}
		for k, v := range map[string]string{"user": injectFault.User, "database": injectFault.Database,
			"client_addr": injectFault.ClientAddr} {
			if v != "" {
				facts[k] = v
			}
		}
		writeTimeout(c.cl, inject.encode(facts))
		c.emit(EventFault, injectFault, inject.code, string(injectFault.Cause))
		return ""
	}
	if inject != nil && inject.when == beforeAuth {
		return sendError()
	}

	up, err := c.dialUpstream(c.p.ctx)
	if err != nil {
		return "upstream: " + err.Error()
	}
	if !c.setUpstream(up) {
		return ""
	}
	msg := st.raw
	if readOnly {
		m := pgproto3.StartupMessage{ProtocolVersion: binary.BigEndian.Uint32(st.raw[4:8]), Parameters: map[string]string{}}
		for k, v := range p {
			m.Parameters[k] = v
		}
		m.Parameters["default_transaction_read_only"] = "on"
		if msg, err = m.Encode(nil); err != nil {
			return "startup: " + err.Error()
		}
	}
	if err := writeTimeout(up, msg); err != nil {
		return "upstream: " + err.Error()
	}
	switch end, err := c.relayAuth(inject); {
	case err != nil:
		return "startup: " + err.Error()
	case end == authInject:
		return sendError()
	case end == authFailed:
		return ""
	}
	if resetStartup != nil {
		c.emit(EventFault, resetStartup, "", "")
		c.rst()
		return ""
	}
	c.emit(EventSession, nil, "", "")
	c.session()
	return ""
}

// authEnd is how the relay of a startup ended.
type authEnd int

const (
	authReady  authEnd = iota // the upstream sent ReadyForQuery
	authFailed                // the upstream sent an error, forwarded
	authInject                // the injected error is due now
)

// relayAuth relays the upstream's answer to the StartupMessage and the
// authentication exchange until ReadyForQuery, an error, or the point where
// inject (if any) is due. Password and SASL messages are forwarded unread.
func (c *conn) relayAuth(inject *startupError) (authEnd, error) {
	for {
		c.up.SetReadDeadline(time.Now().Add(startupTimeout))
		m, err := readMessage(c.up)
		if err != nil {
			return authFailed, err
		}
		var auth int32 = -1
		if m[0] == 'R' && len(m) >= 9 {
			auth = int32(binary.BigEndian.Uint32(m[5:9]))
		}
		// A server that trusts the client never asks for a password; the
		// password error then takes AuthenticationOk's place.
		if auth == 0 && inject != nil && inject.when == atPassword {
			return authInject, nil
		}
		if m[0] == 'Z' {
			// In session before the client knows it is: a terminate added
			// as soon as the client is connected must find the session.
			c.cl.SetReadDeadline(time.Time{})
			c.up.SetReadDeadline(time.Time{})
			c.inSession.Store(true)
		}
		if err := writeTimeout(c.cl, m); err != nil {
			return authFailed, err
		}
		switch {
		case m[0] == 'Z':
			return authReady, nil
		case m[0] == 'E':
			return authFailed, nil
		case auth == 0 && inject != nil && inject.when == afterAuth:
			return authInject, nil
		case auth == 3 || auth == 5 || auth == 7 || auth == 8 || auth == 9 || auth == 10 || auth == 11:
			// Cleartext, MD5, GSS, SSPI, SASL, SASLContinue: the client answers.
			c.cl.SetReadDeadline(time.Now().Add(startupTimeout))
			reply, err := readMessage(c.cl)
			if err != nil {
				return authFailed, err
			}
			// The server fails a wrong password in its answer to the last
			// password message: the only one for cleartext and MD5, the
			// SASLResponse after SASLContinue for SCRAM.
			if inject != nil && inject.when == atPassword && (auth == 3 || auth == 5 || auth == 11) {
				return authInject, nil
			}
			if err := writeTimeout(c.up, reply); err != nil {
				return authFailed, err
			}
		}
	}
}
