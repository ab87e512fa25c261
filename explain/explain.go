// Package explain finds the causes of PostgreSQL connection failures in text that people have: an error message, a
// stack trace, or a whole server or application log.
//
// [Scan] reads the text once, with memory that does not grow with its length, groups its lines into messages
// (a libpq error with its DETAIL and HINT lines, a Java stack trace with its "Caused by:" lines, a Python traceback,
// pgx's tab-indented attempts, a server log line with its DETAIL lines) and classifies each message that may hold a
// connection problem through package catalog, the same way check, watch and retry do. Lines that hold none cost a
// quick look (see [catalog.MayMatch]).
//
// The result is one [Match] per distinct cause: its code, category, transient flag, summary and steps (filled in with
// the facts the text names: role, database, host, client address), the evidence, how often the cause occurs and the
// line where it first does.
//
//	matches, err := explain.Scan(os.Stdin)
//	for _, m := range matches {
//		fmt.Println(m.Code, m.Count, m.Evidence)
//	}
package explain

import (
	"cmp"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/settings"
)

// Match is one distinct cause found in a text. Its fields are the JSON of `pgtriage explain --format json`: they
// may be added to, never renamed.
type Match struct {
	Code      catalog.Code     `json:"code"`
	Category  catalog.Category `json:"category"`
	Transient bool             `json:"transient"`
	SQLState  string           `json:"sqlstate"`
	Summary   string           `json:"summary"`
	Steps     []string         `json:"steps"`
	// Evidence is the first message with this cause: whole when it is short, otherwise its first line and the line
	// that decided.
	Evidence string `json:"evidence"`
	// Count is how many messages have this cause; FirstLine is the line (from 1) where the first of them starts.
	Count     int `json:"count"`
	FirstLine int `json:"first_line"`
}

// Scan reads r to its end and returns the distinct causes found, best first: the cause of the most messages
// first, and among causes as frequent the one seen first (in a single pasted error, the server's own words come
// before the client's follow-on "server closed the connection"). Nothing recognised is no Match at all, not an
// "unknown" one. The error is r's, other than io.EOF; the matches found until then are returned with it.
//
// Lines longer than 1 MiB are cut; binary input is read like any other.
func Scan(r io.Reader) ([]Match, error) {
	a := aggregate{byCode: map[catalog.Code]*Match{}}
	s := newScanner(r, a.add)
	err := s.run()
	return a.sorted(), err
}

// ScanText is Scan of a text in memory.
func ScanText(text string) []Match {
	m, _ := Scan(strings.NewReader(text))
	return m
}

// aggregate counts the causes; its size is bounded by the catalog's, not by the input's.
type aggregate struct {
	byCode map[catalog.Code]*Match
}

// add classifies one message that may hold a connection problem.
func (a *aggregate) add(msg []byte, firstLine int) {
	text := string(msg)
	v := catalog.Recognize(text)
	if v.Cause.Code == catalog.Unknown {
		return
	}
	if m, ok := a.byCode[v.Cause.Code]; ok {
		m.Count++
		if m.SQLState == "" {
			m.SQLState = v.SQLState
		}
		return
	}
	facts := catalog.FactsFrom(text)
	a.byCode[v.Cause.Code] = &Match{
		Code:      v.Cause.Code,
		Category:  v.Cause.Category,
		Transient: v.Cause.Transient,
		SQLState:  v.SQLState,
		Summary:   v.Cause.SummaryFor(facts),
		Steps:     v.Cause.Steps(facts),
		Evidence:  evidence(text, v.Start),
		Count:     1,
		FirstLine: firstLine,
	}
}

func (a *aggregate) sorted() []Match {
	out := make([]Match, 0, len(a.byCode))
	for _, m := range a.byCode {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(x, y Match) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(x.FirstLine, y.FirstLine); c != 0 {
			return c
		}
		return cmp.Compare(x.Code, y.Code)
	})
	return out
}

// Evidence limits: a message of a few short lines is shown whole; a longer one (a stack trace) by its first line
// and the line that decided.
const (
	evidenceLines = 6
	evidenceBytes = 2000
	evidenceLine  = 500
)

func evidence(text string, at int) string {
	text = strings.TrimRight(text, "\n")
	if strings.Count(text, "\n") < evidenceLines && len(text) <= evidenceBytes {
		return clean(text, evidenceBytes)
	}
	head, _, _ := strings.Cut(text, "\n")
	start := strings.LastIndexByte(text[:at], '\n') + 1
	end := strings.IndexByte(text[at:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += at
	}
	line := text[start:end]
	if start == 0 {
		return clean(line, evidenceLine)
	}
	return clean(head, evidenceLine) + "\n…\n" + clean(strings.TrimSpace(line), evidenceLine)
}

// clean masks the passwords s may quote (a connection string in an error, a pasted configuration), cuts it to at
// most n bytes at a character boundary and replaces invalid UTF-8, so that binary input gives printable evidence.
func clean(s string, n int) string {
	s = settings.RedactText(s)
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
