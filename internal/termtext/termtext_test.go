package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, tab\tand ünïcode ✓", "plain text, tab\tand ünïcode ✓"},
		{"red \x1b[31mALERT\x1b[0m", `red \x1b[31mALERT\x1b[0m`},
		{"title \x1b]0;pwned\x07", `title \x1b]0;pwned\x07`},
		{"line one\nVerdict: ok", `line one\nVerdict: ok`},
		{"fatal\rVerdict: ok", `fatal\rVerdict: ok`},
		{"c1 csi \u009b2J", `c1 csi \u009b2J`},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"bad utf-8 \xff\xfe", `bad utf-8 \xff\xfe`},
		{"real replacement \ufffd stays", "real replacement \ufffd stays"},
		{"del \x7f nul \x00", `del \x7f nul \x00`},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Lines("one \x1b[2J\ntwo\r"); got != "one \\x1b[2J\ntwo\\r" {
		t.Errorf("Lines: %q", got)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "x\x1b[31m", "\u009b", "\xff", "a\nb", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, e)
		}
		for _, r := range e {
			if unsafe(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, e, r)
			}
		}
		if firstUnsafe(s) < 0 && e != s {
			t.Fatalf("Escape changed safe text %q", s)
		}
		if l := Lines(s); strings.Count(l, "\n") != strings.Count(s, "\n") {
			t.Fatalf("Lines(%q) = %q lost line feeds", s, l)
		}
	})
}
