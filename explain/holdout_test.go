package explain

import "testing"

// The held-out set: real messages gathered after the matchers were tuned, none of them in corpus.jsonl, so the
// share right here measures how well the catalog generalises (until someone tunes on it: see the README there).
// It has no accuracy threshold (the figure is logged); a wrong answer fails it, as in the corpus.
func TestExplainHoldout(t *testing.T) {
	checkEntries(t, "holdout.jsonl")
}

// Pooler messages gathered from public threads after the pooler rows of the catalog were written from the poolers'
// sources, and not tuned on (testdata/explain/README.md gives the first run).
func TestExplainHoldoutPoolers(t *testing.T) {
	checkEntries(t, "holdout-poolers.jsonl")
}
