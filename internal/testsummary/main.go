// Command testsummary reads `go test -json` on standard input and prints what plain `go test` prints (the
// packages' closing "ok" and "FAIL" lines, the output of failing tests), then the tests that were skipped, each with
// the reason it gave, so that a run that skipped half its checks does not read as all passed. scripts/test runs it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type skip struct{ pkg, test, reason string }

func main() {
	failed, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the closing lines and failures to w and lists the skips at the end; failed says whether any test
// or package failed.
func summarize(r io.Reader, w io.Writer) (failed bool, err error) {
	outputs := map[[2]string][]string{} // a running test's output, kept until it ends
	var skips []skip
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			fmt.Fprintln(w, sc.Text()) // a build error and the like: not JSON
			continue
		}
		key := [2]string{ev.Package, ev.Test}
		switch {
		case ev.Action == "output" && ev.Test == "":
			// The package's own lines: "ok", "FAIL", "PASS", panics outside tests. "=== RUN"-style noise has a Test.
			if !strings.HasPrefix(ev.Output, "PASS\n") && !strings.HasPrefix(ev.Output, "=== ") {
				fmt.Fprint(w, ev.Output)
			}
		case ev.Action == "output":
			outputs[key] = append(outputs[key], ev.Output)
		case ev.Action == "fail" && ev.Test != "":
			failed = true
			for _, o := range outputs[key] {
				fmt.Fprint(w, o)
			}
			delete(outputs, key)
		case ev.Action == "fail":
			failed = true
		case ev.Action == "skip" && ev.Test != "":
			skips = append(skips, skip{ev.Package, ev.Test, skipReason(outputs[key])})
			delete(outputs, key)
		case ev.Action == "pass":
			delete(outputs, key)
		}
	}
	if err := sc.Err(); err != nil {
		return failed, err
	}
	if len(skips) == 0 {
		fmt.Fprintln(w, "\nNo test was skipped.")
		return failed, nil
	}
	fmt.Fprintf(w, "\nSkipped (%d): these checks did not run here\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
	}
	return failed, nil
}

// skipReason is what t.Skip said: the output lines after "=== RUN" other than the "--- SKIP" line itself.
func skipReason(lines []string) string {
	var parts []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}
