package faultproxy

import (
	"bytes"
	"encoding/binary"
	"time"
)

// maxStatement bounds a lose_answer statement word; that much of each query's
// text is looked at.
const maxStatement = 63

// takeLoss reserves one of lose_answer fault f's answers; false once Count
// answers are lost (or being held).
func (f *Fault) takeLoss() bool {
	for {
		n := f.lost.Load()
		if f.Count > 0 && n >= int64(f.Count) {
			return false
		}
		if f.lost.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// matches reports whether the text of a Query message starts with f's
// statement word, in any case.
func (f *Fault) matches(query []byte) bool {
	query, _, _ = bytes.Cut(query, []byte{0})
	fields := bytes.Fields(query)
	return len(fields) > 0 && bytes.EqualFold(bytes.TrimRight(fields[0], ";"), []byte(f.Statement))
}

// scan moves f over b like advance and calls fn at the end of each message
// with its type, until fn returns true. It returns how many bytes of b it
// moved over and whether fn stopped it.
func (f *framer) scan(b []byte, fn func(typ byte) bool) (int, bool) {
	i := 0
	for i < len(b) {
		if f.rem > 0 {
			k := min(f.rem, int64(len(b)-i))
			f.rem -= k
			i += int(k)
			if f.rem == 0 && fn(f.hdr[0]) {
				return i, true
			}
			continue
		}
		k := copy(f.hdr[f.hn:], b[i:])
		f.hn += k
		i += k
		if f.hn == len(f.hdr) {
			f.hn = 0
			f.rem = max(int64(binary.BigEndian.Uint32(f.hdr[1:]))-4, 0)
			if f.rem == 0 && fn(f.hdr[0]) {
				return i, true
			}
		}
	}
	return i, false
}

// watchQueries follows the client's bytes b on their way to the upstream and,
// with lose_answer faults in force, arms the first one whose statement a
// Query message ending in b starts with (and that has answers left to lose):
// holdAnswer then holds the answer to that query. It runs before b is
// written, so that the answer cannot come first.
func (c *conn) watchQueries(b []byte, lose []*Fault) {
	for len(b) > 0 {
		if c.upfr.atBoundary() && len(lose) > 0 && b[0] == 'Q' {
			if c.qtext == nil {
				c.qtext = make([]byte, 0, 5+maxStatement+1)
			}
			c.qtext, c.inQuery = c.qtext[:0], true
		}
		n, ended := c.upfr.scan(b, func(byte) bool { return true })
		if c.inQuery {
			c.qtext = append(c.qtext, b[:min(n, cap(c.qtext)-len(c.qtext))]...)
		}
		b = b[n:]
		if !ended || !c.inQuery {
			continue
		}
		c.inQuery = false
		if c.lose.Load() != nil {
			continue // an answer is held already: this query is pipelined behind it
		}
		for _, f := range lose {
			if f.matches(c.qtext[5:]) && f.takeLoss() {
				c.lose.Store(f)
				break
			}
		}
	}
}

// holdAnswer takes the server's bytes b while lose_answer fault f holds the
// answer to its query, following the messages with fr, and keeps them
// (returning nil) until the answer shows how the query went. At an
// ErrorResponse (the query failed; a FATAL may not even be followed by
// ReadyForQuery) or a COPY's response, it returns what it held and what
// followed, to forward as usual, and gives the fault its answer back. At
// ReadyForQuery without an error it drops the answer and returns a
// resetError that closes both connections (a FIN to the client, as when the
// server's process ends, which drivers take for a broken connection), so the
// client never learns that the query took effect.
func (c *conn) holdAnswer(f *Fault, fr *framer, b []byte) ([]byte, error) {
	failed := false
	n, decided := fr.scan(b, func(typ byte) bool {
		switch typ {
		case 'E', 'G', 'H', 'W': // ErrorResponse, CopyInResponse, CopyOutResponse, CopyBothResponse
			failed = true
			return true
		case 'Z':
			return true
		}
		return false
	})
	c.answer = append(c.answer, b[:n]...)
	if !decided {
		return nil, nil
	}
	c.lose.Store(nil)
	out := append(c.answer, b[n:]...)
	fr.advance(b[n:], false)
	c.answer = nil
	if failed {
		f.lost.Add(-1)
		return out, nil
	}
	return nil, resetError{f, "lost the answer to " + f.Statement, true}
}

// passHeld, when the server's side ended while an answer was held, passes on
// what the server sent of it (a FATAL, say): that answer was not lost on
// purpose, and session gives the fault it back.
func (c *conn) passHeld() {
	if c.lose.Load() != nil && len(c.answer) > 0 {
		c.cl.SetWriteDeadline(time.Now().Add(c.p.cfg.DialTimeout))
		c.cl.Write(c.answer)
		c.answer = nil
	}
}
