package explain

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/catalog"
)

type corpusEntry struct {
	Text   string       `json:"text"`
	Client string       `json:"client"`
	Source string       `json:"source"`
	Code   catalog.Code `json:"code"`
}

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	return readEntries(t, "corpus.jsonl")
}

// readEntries reads a JSON-lines file of corpusEntry from testdata/explain.
func readEntries(t testing.TB, name string) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "explain", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every corpus entry goes through explain as a user would paste it; the best match (or unknown, when nothing is
// recognised) must be the entry's code for at least 95% of them, and no entry may get a cause of another category
// than its own, nor any cause when its code is unknown: a safe "unknown" beats a wrong answer. The misses are
// printed with their source, for the next person to act on.
func TestExplainCorpus(t *testing.T) {
	corpus := readCorpus(t)
	right := 0
	for i, e := range corpus {
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
		if got.Code != catalog.Unknown && got.Category != want.Category {
			report = t.Errorf // a wrong category where unknown would have been safe
		}
		report("corpus.jsonl:%d (%s): got %s (%s), want %s (%s)\n\ttext: %.200q\n\tsource: %s",
			i+1, e.Client, got.Code, got.Category, e.Code, want.Category, e.Text, e.Source)
	}
	share := float64(right) / float64(len(corpus))
	t.Logf("explain corpus: %d of %d right (%.1f%%)", right, len(corpus), 100*share)
	if share < 0.95 {
		t.Errorf("explain corpus: %d of %d right (%.1f%%), want at least 95%%", right, len(corpus), 100*share)
	}
}

// The prefilter's promise (catalog.MayMatch): a text it turns away line by line is one the catalog does not
// recognise. Checked on the corpus, whose texts are real.
func TestMayMatchKeepsEveryRecognisedMessage(t *testing.T) {
	for i, e := range readCorpus(t) {
		v := catalog.Recognize(e.Text)
		if v.Cause.Code == catalog.Unknown {
			continue
		}
		hit := false
		for _, line := range strings.Split(e.Text, "\n") {
			hit = hit || catalog.MayMatch([]byte(line))
		}
		if !hit {
			t.Errorf("corpus.jsonl:%d: recognised as %s, but no line passes MayMatch: %.120q", i+1, v.Cause.Code, e.Text)
		}
	}
}
