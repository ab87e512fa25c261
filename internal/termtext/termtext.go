// Package termtext makes untrusted text safe to print on a terminal. Server error messages, certificate names,
// application names, log lines and scenario files reach pgtriage's text output; written raw, an escape sequence
// in them could move the cursor, recolour or clear the screen, set the window title, or forge a line of
// pgtriage's own output (a "Verdict: ok" after a carriage return). Every text output passes such text through
// Escape, or Lines where the text is meant to keep its line breaks.
//
// JSON and HTML output need none of this: their encoders escape control characters already.
package termtext

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character that can control a terminal written out as a Go-style escape: the C0
// controls but the tab (a line feed becomes \n, a carriage return \r, ESC \x1b), DEL, the C1 controls U+0080 to
// U+009F (U+009B is a one-character CSI to many terminals), the line and paragraph separators, the bidirectional
// embeddings, overrides and isolates (which reorder what is shown, "Trojan Source"), and bytes that are not UTF-8.
// A string without any is returned as it is, without allocating.
func Escape(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unsafe(r):
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Lines is Escape for text of several lines, such as a log excerpt: each line is escaped and the line feeds stay.
func Lines(s string) string {
	if firstUnsafe(s) < 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Escape(l)
	}
	return strings.Join(lines, "\n")
}

// Writer is w with every write passed through Lines: for output that is wholly untrusted text, such as a report
// made of a scenario file's words and servers' errors. A character cut between two writes is escaped byte by byte.
func Writer(w io.Writer) io.Writer { return writer{w} }

type writer struct{ w io.Writer }

func (e writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.w, Lines(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// firstUnsafe is the byte offset of the first character Escape changes, or -1.
func firstUnsafe(s string) int {
	for i, r := range s {
		if r == utf8.RuneError || unsafe(r) {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(s[i:]); size != 1 {
					continue // a real U+FFFD
				}
			}
			return i
		}
	}
	return -1
}

func unsafe(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}
