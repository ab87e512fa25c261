package eventlog

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOpenRefusesFIFO: a named pipe is not a log, and opening it does not wait for a writer.
func TestOpenRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if l, _, err := Open(fifo, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		if l != nil {
			l.Close()
		}
		t.Errorf("a FIFO: %v", err)
	}
}

// TestShortWrite fills the disk in the middle of a line: a child process lowers its file size limit (RLIMIT_FSIZE)
// so that the kernel writes part of the line and refuses the rest (EFBIG), a real short write. Record must say so at
// once and cut the part it wrote, so that the next event, once there is room again, is a line of its own.
func TestShortWrite(t *testing.T) {
	if os.Getenv("PGTRIAGE_SHORT_WRITE_CHILD") != "" {
		shortWriteChild(t, os.Getenv("PGTRIAGE_SHORT_WRITE_CHILD"))
		return
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestShortWrite$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTRIAGE_SHORT_WRITE_CHILD="+path)
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestShortWrite")) {
		t.Fatal("the child did not run the test")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, skipped, err := ReadEvents(bytes.NewReader(b))
	if err != nil || skipped != 0 || len(evs) != 2 || evs[0].Type != EventWatchStart || evs[1].Type != EventOutageEnd {
		t.Errorf("the log after the full disk: %d events, %d skipped, %v:\n%s", len(evs), skipped, err, b)
	}
}

func shortWriteChild(t *testing.T, path string) {
	l, _, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(Event{Time: t0, Type: EventWatchStart, Targets: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	// Room for 40 more bytes: the next line is longer. Go ignores SIGXFSZ, so the write returns EFBIG.
	small := lim
	small.Cur = uint64(fi.Size()) + 40
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &small); err != nil {
		t.Fatal(err)
	}
	err = l.Record(Event{Time: t0.Add(time.Second), Type: EventOutageStart, Target: "a", Evidence: strings.Repeat("x", 200)})
	if !errors.Is(err, syscall.EFBIG) {
		t.Errorf("Record on a full disk: %v", err)
	}
	if after, _ := os.Stat(path); after.Size() != fi.Size() {
		t.Errorf("the torn line was left: %d bytes, %d before", after.Size(), fi.Size())
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(Event{Time: t0.Add(2 * time.Second), Type: EventOutageEnd, Target: "a"}); err != nil {
		t.Errorf("Record once there is room: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
}
