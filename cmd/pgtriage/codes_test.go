package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/catalog"
)

var update = flag.Bool("update", false, "rewrite generated files (docs/causes.md) instead of comparing them")

// TestCausesDocCurrent fails when docs/causes.md is not what the catalog generates; -update rewrites it.
func TestCausesDocCurrent(t *testing.T) {
	var b bytes.Buffer
	if err := writeCodesMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "causes.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("%s is stale: regenerate it with `go test ./cmd/pgtriage -run TestCausesDocCurrent -update`", path)
	}
	for _, c := range catalog.All() {
		if !strings.Contains(string(got), "\n## "+string(c.Code)+"\n") {
			t.Errorf("%s has no section for %s", path, c.Code)
		}
	}
}

// TestCodesCommand: the text and JSON lists name every code of the catalog once, with its category and kind.
func TestCodesCommand(t *testing.T) {
	out, errOut, code := run(t, deps{}, "codes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	all := catalog.All()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(all)+1 || !strings.HasPrefix(lines[0], "CODE") {
		t.Fatalf("want a header and %d codes, got %d lines:\n%s", len(all), len(lines), out)
	}
	for i, c := range all {
		f := strings.Fields(lines[i+1])
		if f[0] != string(c.Code) || f[1] != string(c.Category) {
			t.Errorf("line %d: %q, want %s %s", i+1, lines[i+1], c.Code, c.Category)
		}
	}

	out, _, code = run(t, deps{}, "codes", "--format", "json")
	var got struct {
		SchemaVersion int        `json:"schema_version"`
		Codes         []codeInfo `json:"codes"`
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if got.SchemaVersion != schemaVersion || len(got.Codes) != len(all) {
		t.Fatalf("schema_version %d, %d codes; want %d, %d", got.SchemaVersion, len(got.Codes), schemaVersion, len(all))
	}
	for i, c := range all {
		g := got.Codes[i]
		if g.Code != c.Code || g.Transient != c.Transient || g.Category != c.Category || g.Summary == "" {
			t.Errorf("%d: %+v, want %s", i, g, c.Code)
		}
	}
	if _, errOut, code := run(t, deps{}, "codes", "--format", "yaml"); code != usageExit || !strings.Contains(errOut, "text, json or markdown") {
		t.Errorf("--format yaml: exit %d, %s", code, errOut)
	}
}
