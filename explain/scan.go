package explain

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/pgtriage/pgtriage/catalog"
)

// Limits that keep memory constant whatever the input: a longer line is cut, and a message that would outgrow
// maxMessage ends there (a line that may hold a cause then starts a message of its own).
const (
	maxLine    = 1 << 20
	maxMessage = 1 << 20
)

// scanner splits a text into lines and groups them into messages; each message with a line that may hold a
// connection problem goes to emit with the number of its first line.
type scanner struct {
	r    *bufio.Reader
	emit func(msg []byte, firstLine int)

	line  []byte // a line longer than the reader's buffer, assembled
	lines int    // lines read so far

	msg       []byte // the current message
	msgLine   int    // its first line
	msgHit    bool   // one of its lines may hold a cause
	traceback bool   // it is a Python traceback that has not reached its exception line yet
	libpq     int8   // it holds "connection to server ": 1 yes, -1 no, 0 not looked yet
}

func newScanner(r io.Reader, emit func([]byte, int)) *scanner {
	return &scanner{r: bufio.NewReaderSize(r, 64<<10), emit: emit}
}

func (s *scanner) run() error {
	for {
		line, err := s.readLine()
		if line != nil {
			s.lines++
			s.take(line)
		}
		if err != nil {
			s.flush()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// readLine returns the next line without its end of line, cut to maxLine; nil with io.EOF at the end.
func (s *scanner) readLine() ([]byte, error) {
	chunk, err := s.r.ReadSlice('\n')
	if err == nil || (errors.Is(err, io.EOF) && len(chunk) > 0) {
		if err != nil {
			err = nil // the last line has no end of line; io.EOF comes with the next call
		}
		return trimEOL(chunk), err
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	// A long line: assemble up to maxLine, skip the rest.
	s.line = append(s.line[:0], chunk...)
	for {
		chunk, err = s.r.ReadSlice('\n')
		if room := maxLine - len(s.line); room > 0 {
			s.line = append(s.line, chunk[:min(room, len(chunk))]...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return trimEOL(s.line), err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// take adds a line to the current message or starts a new one.
func (s *scanner) take(line []byte) {
	if len(line) == 0 {
		// A blank line ends a message (a Python traceback's chained exceptions are separate messages).
		s.flush()
		return
	}
	hit := catalog.MayMatch(line)
	if len(s.msg) > 0 && s.continues(line) {
		if len(s.msg)+1+len(line) <= maxMessage {
			s.msg = append(s.msg, '\n')
			s.msg = append(s.msg, line...)
			s.msgHit = s.msgHit || hit
			return
		}
		if !hit {
			return // past the limit, and nothing to learn from it
		}
	}
	s.flush()
	s.msg = append(s.msg[:0], line...)
	s.msgLine = s.lines
	s.msgHit = hit
	s.traceback = bytes.HasPrefix(line, []byte("Traceback (most recent call last)"))
	s.libpq = 0
	if bytes.HasPrefix(line, libpqAttempt) {
		s.libpq = 1
	}
}

func (s *scanner) flush() {
	if s.msgHit {
		s.emit(s.msg, s.msgLine)
	}
	s.msg = s.msg[:0]
	s.msgHit = false
	s.traceback = false
	if cap(s.msg) > 64<<10 {
		s.msg = nil // do not keep a huge buffer for the ordinary lines after one huge message
	}
}

// Line starts that continue the message before them.
var (
	causedBy        = []byte("Caused by:")
	dotnetInner     = []byte("--- ")
	libpqAttempt    = []byte("connection to server ")
	libpqFailedLine = []byte("failed: ")
	serverSep       = []byte(":  ")
)

// serverContinuations are the fields the server writes after a message's first line (libpq prints them the same
// way, without the log prefix).
var serverContinuations = [][]byte{[]byte("DETAIL"), []byte("HINT"), []byte("CONTEXT"), []byte("STATEMENT"), []byte("QUERY"), []byte("LOCATION")}

// continues reports whether a line belongs to the current message: indented lines (stack frames, libpq's hints,
// pgx's attempts, tab-indented log continuations), "Caused by:", the server's DETAIL/HINT/... lines with or without
// a log prefix, libpq's further attempts, and a Python traceback's exception line.
func (s *scanner) continues(line []byte) bool {
	switch {
	case line[0] == ' ' || line[0] == '\t':
		return true
	case s.traceback:
		s.traceback = false
		return true
	case bytes.HasPrefix(line, causedBy), bytes.HasPrefix(line, dotnetInner), bytes.HasPrefix(line, libpqFailedLine):
		return true
	case bytes.HasPrefix(line, libpqAttempt):
		// Looked for once a message, so that a long run of such lines stays linear.
		if s.libpq == 0 {
			s.libpq = -1
			if bytes.Contains(s.msg, libpqAttempt) {
				s.libpq = 1
			}
		}
		return s.libpq == 1
	}
	i := bytes.Index(line, serverSep)
	if i <= 0 {
		return false
	}
	word := line[:i]
	if j := bytes.LastIndexAny(word, " \t]|>"); j >= 0 {
		word = word[j+1:]
	}
	for _, c := range serverContinuations {
		if bytes.Equal(word, c) {
			return true
		}
	}
	return false
}
