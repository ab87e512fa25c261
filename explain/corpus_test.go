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
// recognised) must be the entry's code for at least 95% of them.
func TestExplainCorpus(t *testing.T) {
	if share := checkEntries(t, "corpus.jsonl"); share < 0.95 {
		t.Errorf("explain corpus: %.1f%% right, want at least 95%%", 100*share)
	}
}

// checkEntries runs every entry of a file of testdata/explain through explain and returns the share answered with
// the entry's code. A wrong answer is an error, whatever the share: a cause of another category than the entry's
// own, or any cause when the entry's code is unknown (a safe "unknown" beats a wrong answer). Other misses are
// logged with their source, for the next person to act on.
func checkEntries(t *testing.T, name string) float64 {
	t.Helper()
	entries := readEntries(t, name)
	right := 0
	for i, e := range entries {
		got := catalog.Lookup(catalog.Unknown)
		if m := ScanText(e.Text); len(m) > 0 {
			got = catalog.Lookup(m[0].Code)
		}
		if got.Code == e.Code {
			right++
			continue
		}
		want := catalog.Lookup(e.Code)
		report := t.Logf
		if got.Code != catalog.Unknown && got.Category != want.Category {
			report = t.Errorf // includes any specific answer for an unknown entry: its category is "unknown"
		}
		report("%s:%d (%s): got %s (%s), want %s (%s)\n\ttext: %.200q\n\tsource: %s",
			name, i+1, e.Client, got.Code, got.Category, e.Code, want.Category, e.Text, e.Source)
	}
	share := float64(right) / float64(len(entries))
	t.Logf("%s: %d of %d right (%.1f%%)", name, right, len(entries), 100*share)
	return share
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
