package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Code names one cause. Codes are a contract (DESIGN.md): they may be added, never renamed.
type Code string

// Category groups causes by the layer a user must look at.
type Category string

// The categories of DESIGN.md, "transaction" for conflicts between transactions, plus "none" for a healthy
// connection and "unknown" for what nobody recognised.
const (
	Configuration Category = "configuration"
	DNS           Category = "dns"
	Firewall      Category = "firewall"
	Timeout       Category = "timeout"
	TLS           Category = "tls"
	Login         Category = "login"
	Limits        Category = "limits"
	Availability  Category = "availability"
	// Transaction is not a connection failure: the server rolled a transaction back (serialization failure,
	// deadlock) and the whole transaction should run again.
	Transaction  Category = "transaction"
	None         Category = "none"
	Unrecognised Category = "unknown"
)

// Cause is one row of the catalog. Lookup, All and the classifiers hand out copies: changing one changes nothing
// for the next caller (the steps and matchers are not exported, so a copy cannot reach the table's).
type Cause struct {
	Code      Code
	Category  Category
	Transient bool
	Summary   string
	// steps are templates with {fact} placeholders; see Facts.
	steps []string
	// providerSteps replace steps when the server is a known managed service.
	providerSteps map[Provider][]string
	// matchers recognise the cause in a server error (SQLSTATE and message) or in any client's text.
	matchers []matcher
}

// matcher recognises a cause. Every field that is set must match: sqlstate exactly, and text by any one of its
// patterns (lower-case substrings, or regular expressions when they start with "re:").
type matcher struct {
	sqlstate string
	text     []string
	// fatal marks words the server says as FATAL when it refuses a connection, and as ERROR when a statement fails
	// (`database "x" does not exist` from DROP DATABASE): after "ERROR:" they are not a connection problem.
	fatal bool
	// weak marks words that are rarely the whole story: they win only when nothing else matches.
	weak bool
	// prepared are the text patterns ready to search, made once from text (see prefilter.go).
	prepared []pattern
}

// pattern is a text pattern ready to search: the lower-case substring, or the compiled regular expression with the
// literal runs any match contains; anchor is the four-byte piece the prefilter looks for.
type pattern struct {
	text   string
	rx     *regexp.Regexp
	runs   []string
	anchor uint32
}

// Steps renders the numbered next steps for the given facts, in the language of the managed service when one is
// known (facts.Provider).
func (c Cause) Steps(f Facts) []string {
	steps := c.steps
	if p, ok := c.providerSteps[f.Provider()]; ok {
		steps = p
	}
	out := make([]string, 0, len(steps))
	for _, s := range steps {
		out = append(out, f.expand(s))
	}
	return out
}

// SummaryFor renders the summary with the facts.
func (c Cause) SummaryFor(f Facts) string { return f.expand(c.Summary) }

// Lookup returns the cause for a code, or the "unknown" cause when the code is not in the catalog.
func Lookup(code Code) Cause {
	if c, ok := byCode[code]; ok {
		return *c
	}
	return *byCode[Unknown]
}

// All returns every cause in catalog order.
func All() []Cause { return slices.Clone(causes) }

var byCode = func() map[Code]*Cause {
	m := make(map[Code]*Cause, len(causes))
	for i := range causes {
		c := &causes[i]
		if _, dup := m[c.Code]; dup {
			panic(fmt.Sprintf("catalog: duplicate code %s", c.Code))
		}
		m[c.Code] = c
		for _, mt := range c.matchers {
			for _, t := range mt.text {
				// Lower case as lowerASCII makes the text: ASCII letters only ("БД" and "Échec" stay as they are).
				rx, isRx := strings.CutPrefix(t, "re:")
				if !isRx && t != lowerASCII(t) || isRx && upperOutsideEscapes(rx) {
					panic(fmt.Sprintf("catalog: %s: text pattern %q must be lower case", c.Code, t))
				}
			}
		}
	}
	return m
}()

// upperOutsideEscapes reports whether a regular expression has an upper-case ASCII letter that is not an escape's
// (\S, \D): such a letter never matches a lowered text.
func upperOutsideEscapes(rx string) bool {
	for i := 0; i < len(rx); i++ {
		switch c := rx[i]; {
		case c == '\\':
			i++
		case 'A' <= c && c <= 'Z':
			return true
		}
	}
	return false
}
