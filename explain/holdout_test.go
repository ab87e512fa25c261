package explain

import (
	"testing"

	"github.com/pgtriage/pgtriage/catalog"
)

// The held-out set: real messages gathered after the matchers were tuned, none of them in corpus.jsonl, so the
// share right here is an honest measure of how well the catalog generalises. It has no accuracy threshold (the
// figure is logged), but a wrong answer is an error: a cause of another category than the entry's own, or any
// cause when the entry is unknown. A safe "unknown" beats a wrong answer.
func TestExplainHoldout(t *testing.T) {
	entries := readEntries(t, "holdout.jsonl")
	right := 0
	for i, e := range entries {
		got := catalog.Lookup(catalog.Unknown)
		if m := String(e.Text); len(m) > 0 {
			got = catalog.Lookup(m[0].Code)
		}
		if got.Code == e.Code {
			right++
			continue
		}
		want := catalog.Lookup(e.Code)
		report := t.Logf
		switch {
		case e.Code == catalog.Unknown:
			report = t.Errorf // a specific answer for a message no cause fits
		case got.Code != catalog.Unknown && got.Category != want.Category:
			report = t.Errorf // a wrong category where unknown would have been safe
		}
		report("holdout.jsonl:%d (%s): got %s (%s), want %s (%s)\n\ttext: %.200q\n\tsource: %s",
			i+1, e.Client, got.Code, got.Category, e.Code, want.Category, e.Text, e.Source)
	}
	t.Logf("explain holdout: %d of %d right (%.1f%%)", right, len(entries), 100*float64(right)/float64(len(entries)))
}
