package wirelimit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func msg(typ byte, body string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{typ}, uint32(4+len(body))), body...)
}

// scan feeds b to a new observing Framer in pieces of n bytes and returns what it saw and its error.
func scan(b []byte, n int) (string, error) {
	var seen strings.Builder
	f := &Framer{Observe: func(typ byte, body []byte) { fmt.Fprintf(&seen, "%c%q ", typ, body) }}
	var err error
	for len(b) > 0 && err == nil {
		k := min(n, len(b))
		err = f.Scan(b[:k])
		b = b[k:]
	}
	return seen.String(), err
}

func TestFramer(t *testing.T) {
	var stream []byte
	stream = append(stream, msg('R', "\x00\x00\x00\x00")...)
	stream = append(stream, msg('S', "server_version\x0017\x00")...)
	stream = append(stream, msg('Z', "I")...)
	for n := 1; n <= len(stream); n++ {
		seen, err := scan(stream, n)
		if err != nil || seen != `R"\x00\x00\x00\x00" S"server_version\x0017\x00" Z"I" ` {
			t.Fatalf("pieces of %d: %s %v", n, seen, err)
		}
	}
	var limit *Error
	var notPG *NotPostgresError
	for _, tc := range []struct {
		name string
		in   []byte
		want any
	}{
		{"a 2 MiB notice", binary.BigEndian.AppendUint32([]byte{'N'}, 2<<20), &limit},
		{"endless notices", bytes.Repeat(msg('N', "SNOTICE\x00Mhi\x00\x00"), MaxExchangeMessages+1), &limit},
		{"endless rows", bytes.Repeat(msg('D', strings.Repeat("x", 64<<10)), 70), &limit},
		{"parameters", bytes.Repeat(append(msg('S', strings.Repeat("p", 600<<10)), msg('Z', "I")...), 2), &limit},
		{"HTTP", []byte("HTTP/1.1 400 Bad Request\r\n"), &notPG},
		{"bad type", msg('x', ""), &notPG},
	} {
		_, err := scan(tc.in, 4096)
		if !errors.As(err, tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// A ReadyForQuery starts a new exchange: 2 MiB of rows in two queries pass.
	var two []byte
	for range 2 {
		two = append(two, bytes.Repeat(msg('D', strings.Repeat("x", 64<<10)), 16)...)
		two = append(two, msg('Z', "I")...)
	}
	if _, err := scan(two, 4096); err != nil {
		t.Errorf("two exchanges: %v", err)
	}
}

// FuzzFramer: any stream, cut anywhere, gives the same messages and the same verdict as in one piece, and the
// framer never keeps more than MaxMessage of a body.
func FuzzFramer(f *testing.F) {
	f.Add(append(msg('R', "\x00\x00\x00\x00"), msg('Z', "I")...), uint8(3))
	f.Add(binary.BigEndian.AppendUint32([]byte{'E'}, 0x3fffffff), uint8(1))
	f.Add([]byte("HTTP/1.1 200 OK\r\n"), uint8(7))
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		whole, werr := scan(b, len(b)+1)
		pieces, perr := scan(b, int(cut)+1)
		// Where bytes are not PostgreSQL, how many of them are shown depends on how they were read.
		var wn, pn *NotPostgresError
		if errors.As(werr, &wn) && errors.As(perr, &pn) && bytes.HasPrefix(wn.Start, pn.Start) {
			werr, perr = nil, nil
		}
		if whole != pieces || fmt.Sprint(werr) != fmt.Sprint(perr) {
			t.Fatalf("whole: %s %v; in pieces of %d: %s %v", whole, werr, int(cut)+1, pieces, perr)
		}
	})
}
