package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSummarize runs real `go test -json` on a package of one passing, one skipping and one failing test and reads
// the summary: the failure's output, the closing FAIL line, and the skip with its reason at the end.
func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.test/x\n\ngo 1.21\n",
		"x_test.go": `package x

import "testing"

func TestPasses(t *testing.T) {}
func TestSkips(t *testing.T)  { t.Skip("chromium not found: install chromium") }
func TestFails(t *testing.T)  { t.Error("the answer was 41") }
`,
	}
	for name, text := range files {
		if err := writeFile(filepath.Join(dir, name), text); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "test", "-json", "./...")
	cmd.Dir = dir
	out, _ := cmd.Output() // exits 1: a test fails
	var b strings.Builder
	failed, err := summarize(strings.NewReader(string(out)), &b)
	if err != nil || !failed {
		t.Fatalf("failed=%v err=%v", failed, err)
	}
	got := b.String()
	for _, want := range []string{"the answer was 41", "FAIL\texample.test/x", "Skipped (1)", "example.test/x TestSkips: ", "chromium not found: install chromium"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "TestPasses") || strings.Index(got, "Skipped") < strings.Index(got, "FAIL\t") {
		t.Errorf("passing tests are not listed, and the skips come last:\n%s", got)
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
