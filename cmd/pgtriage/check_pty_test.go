//go:build unix

package main

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestCheckOnATerminal runs check with a real pseudo-terminal as standard output against a silent peer: the stages
// that ended show at once with a "running" line under them while the check waits; the running line is erased
// before each stage line and at the end, and the verdict comes last.
func TestCheckOnATerminal(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	port, hangUp := silentPeer(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	done := make(chan int, 1)
	go func() {
		code := executeWith(deps{}, []string{"check", "-h", "127.0.0.1", "-p", port, "-U", "app", "-t", "60", "sslmode=disable"}, strings.NewReader(""), tty, io.Discard)
		tty.Close()
		done <- code
	}()
	r := bufio.NewReader(ptmx)
	var seen strings.Builder
	// Read up to the running line that follows the tcp stage.
	for !strings.Contains(seen.String(), " tcp ") || !strings.HasSuffix(seen.String(), runningLine) {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("the terminal closed early: %v\n%q", err, seen.String())
		}
		seen.WriteByte(b)
	}
	select {
	case <-done:
		t.Fatalf("the check ended before the silent peer hung up:\n%q", seen.String())
	default:
	}
	hangUp()
	for !strings.Contains(seen.String(), "Next steps:") {
		b, err := r.ReadByte()
		if err != nil {
			break // the slave side closed: on Linux the master then reads EIO
		}
		seen.WriteByte(b)
	}
	<-done
	out := seen.String()
	if !strings.Contains(out, runningLine+"\r\x1b[K") || !strings.Contains(out, "Verdict: ") {
		t.Errorf("want the running line erased and the verdict:\n%q", out)
	}
	if i, j := strings.LastIndex(out, "\r\x1b[K"), strings.Index(out, "Verdict: "); i > j {
		t.Errorf("the running line was erased after the verdict:\n%q", out)
	}
}
