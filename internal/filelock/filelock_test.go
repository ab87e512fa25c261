package filelock_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pgtriage/pgtriage/internal/filelock"
)

// TestTryLock: a second opening of the file cannot take the lock while the
// first holds it, in this process and in another one, and can once the
// first is closed.
func TestTryLock(t *testing.T) {
	// Not t.TempDir: under Wine, removing a file just unlocked fails now and then ("Invalid function"), which
	// t.TempDir turns into a failure; a leftover in the temporary directory is harmless.
	dir, err := os.MkdirTemp("", "filelock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "log")
	first := open(t, path)
	if err := filelock.TryLock(first); err != nil {
		t.Fatalf("first lock: %v", err)
	}
	second := open(t, path)
	if err := filelock.TryLock(second); !errors.Is(err, filelock.ErrLocked) {
		t.Fatalf("second lock while the first holds it: %v, want ErrLocked", err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestOtherProcess$")
	child.Env = append(os.Environ(), "FILELOCK_PATH="+path)
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("another process: %v\n%s", err, out)
	}
	first.Close()
	if err := filelock.TryLock(second); err != nil {
		t.Fatalf("lock after the first closed: %v", err)
	}
}

// TestOtherProcess is run by TestTryLock as a child process.
func TestOtherProcess(t *testing.T) {
	path := os.Getenv("FILELOCK_PATH")
	if path == "" {
		t.Skip("run by TestTryLock in a child process")
	}
	err := filelock.TryLock(open(t, path))
	if !errors.Is(err, filelock.ErrLocked) {
		t.Fatalf("TryLock in another process: %v, want ErrLocked", err)
	}
}

func open(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
