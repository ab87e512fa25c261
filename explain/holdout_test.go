package explain

import "testing"

// The held-out set: real messages gathered after the matchers were tuned, none of them in corpus.jsonl, so the
// share right here measures how well the catalog generalises (until someone tunes on it: see the README there).
// It has no accuracy threshold (the figure is logged); a wrong answer fails it, as in the corpus.
func TestExplainHoldout(t *testing.T) {
	checkEntries(t, "holdout.jsonl")
}
