package catalog

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// corpusEntry is one line of testdata/explain/corpus.jsonl: a real message, who printed it, where it comes from,
// and the code it should get.
type corpusEntry struct {
	Text   string `json:"text"`
	Client string `json:"client"`
	Source string `json:"source"`
	Code   Code   `json:"code"`
}

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "explain", "corpus.jsonl"))
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
			t.Fatalf("corpus.jsonl:%d: %v", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The whole text of each corpus entry, classified as one message. The explain package runs the same corpus through
// its scanner; this test is the catalog's own share: the SQLSTATE framings and the matchers.
func TestCatalogCorpus(t *testing.T) {
	corpus := readCorpus(t)
	right, wrongCategory := 0, 0
	for i, e := range corpus {
		got := Recognize(e.Text).Cause
		if got.Code == e.Code {
			right++
			continue
		}
		want := Lookup(e.Code)
		severe := e.Code != Unknown && got.Code != Unknown && got.Category != want.Category ||
			e.Code == Unknown && got.Code != Unknown
		if severe {
			wrongCategory++
			t.Errorf("corpus.jsonl:%d (%s): got %s (%s), want %s (%s)\n\t%.160q\n\tsource: %s", i+1, e.Client, got.Code, got.Category, e.Code, want.Category, e.Text, e.Source)
		} else {
			t.Logf("miss corpus.jsonl:%d (%s): got %s, want %s\n\t%.160q\n\tsource: %s", i+1, e.Client, got.Code, e.Code, e.Text, e.Source)
		}
	}
	share := float64(right) / float64(len(corpus))
	t.Logf("catalog corpus: %d of %d right (%.1f%%), %d with a wrong category", right, len(corpus), 100*share, wrongCategory)
	if share < 0.95 {
		t.Errorf("catalog corpus: %.1f%% right, want at least 95%%", 100*share)
	}
}
