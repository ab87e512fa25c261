package main

import (
	"os"
	"strings"
	"testing"
)

// A command that fails while running exits 1; only a command line that cannot be understood exits 3.
func TestExitCodes(t *testing.T) {
	// Standard output is a pipe nobody reads any more: writing the list fails at run time.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	var errOut strings.Builder
	if code := execute([]string{"rehearse", "--list"}, strings.NewReader(""), w, &errOut); code != runtimeExit || !strings.Contains(errOut.String(), "broken pipe") {
		t.Errorf("write to a closed pipe: exit %d, stderr %q; want %d and the error", code, errOut.String(), runtimeExit)
	}

	for _, args := range [][]string{{"no-such-command"}, {"report"}, {"check", "--no-such-flag"}, {"firewall", "extra"}} {
		var out, errOut strings.Builder
		if code := execute(args, strings.NewReader(""), &out, &errOut); code != usageExit || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want %d and a message", args, code, errOut.String(), usageExit)
		}
	}
}
