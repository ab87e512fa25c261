package pgtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Hostile is how a HostileServer misbehaves after the client's startup message. No real server can be made to do
// any of this on demand, so these are fakes; they speak the real protocol through pgproto3.
type Hostile string

const (
	// EndlessNotices sends NoticeResponse messages, one after another, and never ends the startup.
	EndlessNotices Hostile = "endless-notices"
	// EndlessParameters sends ParameterStatus messages of 16 MB, each under a new name, and never ends the startup.
	EndlessParameters Hostile = "endless-parameters"
	// HugeError sends an ErrorResponse that says it is 1 GB long (PostgreSQL's own limit on a message), and its
	// bytes for as long as the client reads.
	HugeError Hostile = "huge-error"
	// BogusSCRAM asks for SCRAM-SHA-256 and answers the client's first message with a server-first-message that
	// is not one.
	BogusSCRAM Hostile = "bogus-scram"
	// NeverReady authenticates the client (AuthenticationOk) and then says nothing: the startup never finishes.
	NeverReady Hostile = "never-ready"
)

// HostileServer is a fake PostgreSQL server on loopback that answers N to SSLRequest, reads the startup message
// and then misbehaves as told.
type HostileServer struct {
	Addr string // 127.0.0.1:port
	Host string
	Port int
}

// StartHostile serves how on a loopback port until the test ends; every connection gets the same treatment.
func StartHostile(t testing.TB, how Hostile) *HostileServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: hostile server: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				_ = misbehave(c, how)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	a := ln.Addr().(*net.TCPAddr)
	return &HostileServer{Addr: a.String(), Host: a.IP.String(), Port: a.Port}
}

// ConnString is a keyword/value connection string for the server with extra settings appended.
func (h *HostileServer) ConnString(extra string) string {
	return fmt.Sprintf("host=%s port=%d user=app dbname=app %s", h.Host, h.Port, extra)
}

func misbehave(c net.Conn, how Hostile) error {
	be := pgproto3.NewBackend(c, c)
	msg, err := be.ReceiveStartupMessage()
	if err != nil {
		return err
	}
	if _, ok := msg.(*pgproto3.SSLRequest); ok {
		if _, err := c.Write([]byte("N")); err != nil {
			return err
		}
		if msg, err = be.ReceiveStartupMessage(); err != nil {
			return err
		}
	}
	if _, ok := msg.(*pgproto3.StartupMessage); !ok {
		return fmt.Errorf("pgtest: hostile server: %T instead of a startup message", msg)
	}
	switch how {
	case EndlessNotices:
		notice, err := (&pgproto3.NoticeResponse{Severity: "NOTICE", Code: "00000", Message: "all is well"}).Encode(nil)
		if err != nil {
			return err
		}
		batch := make([]byte, 0, 64<<10)
		for len(batch)+len(notice) <= cap(batch) {
			batch = append(batch, notice...)
		}
		for {
			if _, err := c.Write(batch); err != nil {
				return err
			}
		}
	case EndlessParameters:
		const size = 16 << 20
		// 'S', length, "p%08d\0", value, "\0": the name changes in place, so the server holds one buffer.
		msg := binary.BigEndian.AppendUint32([]byte{'S'}, 4+10+size+1)
		msg = append(append(append(msg, "p00000000\x00"...), bytes.Repeat([]byte{'v'}, size)...), 0)
		for i := 0; ; i++ {
			copy(msg[5:], fmt.Sprintf("p%08d\x00", i%100000000))
			if _, err := c.Write(msg); err != nil {
				return err
			}
		}
	case HugeError:
		const size = 0x3fffffff - 4
		head := binary.BigEndian.AppendUint32([]byte{'E'}, size+4)
		head = append(head, "SFATAL\x00C08P01\x00M"...)
		if _, err := c.Write(head); err != nil {
			return err
		}
		chunk := bytes.Repeat([]byte{'x'}, 64<<10)
		for sent := len(head) - 5; sent < size; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return err
			}
		}
		return nil
	case BogusSCRAM:
		be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
		if err := be.Flush(); err != nil {
			return err
		}
		if err := be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
			return err
		}
		if _, err := be.Receive(); err != nil {
			return err
		}
		be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte("this is not a server-first-message")})
		if err := be.Flush(); err != nil {
			return err
		}
		_, err := be.Receive() // the client gives up: wait for it to close
		return err
	case NeverReady:
		be.Send(&pgproto3.AuthenticationOk{})
		if err := be.Flush(); err != nil {
			return err
		}
		_, err := be.Receive()
		return err
	}
	return errors.New("pgtest: hostile server: unknown behaviour " + string(how))
}
