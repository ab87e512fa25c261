//go:build unix

package settings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileFiles are files no setting may make pgx read: endless (/dev/zero), blocking (a named pipe nobody
// writes), a directory, and a sparse file of 64 MiB (larger than every cap, but it costs no disk).
func hostileFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse")
	f, err := os.OpenFile(sparse, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return map[string]string{"/dev/zero": "/dev/zero", "fifo": fifo, "directory": dir, "sparse": sparse}
}

// loadWithin runs Load and fails the test, instead of hanging it, when Load does not return in time.
func loadWithin(t *testing.T, conn string) (*Settings, error) {
	t.Helper()
	type result struct {
		s   *Settings
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Load(conn)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-time.After(30 * time.Second):
		t.Fatalf("Load(%q) did not return within 30 s", conn)
		return nil, nil
	}
}

// TestHostileSettingsFiles: the TLS files and the service file must be regular files under their caps, with an
// error that names the setting and what the file is; a password file that is not is ignored (as libpq ignores one
// that is not a plain file), and pgx does not read it either.
func TestHostileSettingsFiles(t *testing.T) {
	for name, path := range hostileFiles(t) {
		for _, kw := range []string{"sslrootcert", "sslcert", "sslkey"} {
			t.Run(kw+"="+name, func(t *testing.T) {
				isolate(t)
				conn := "host=db.example.com user=app sslmode=require " + kw + "=" + path
				if kw != "sslrootcert" {
					other := map[string]string{"sslcert": "sslkey", "sslkey": "sslcert"}[kw]
					conn += " " + other + "=" + writeFile(t, filepath.Join(t.TempDir(), other), "x", 0o600)
				}
				_, err := loadWithin(t, conn)
				var se *Error
				if !errors.As(err, &se) || se.Keyword != kw || !strings.Contains(err.Error(), path) {
					t.Fatalf("Load: %v, want an *Error about %s", err, kw)
				}
				t.Log(err)
			})
		}
		t.Run("servicefile="+name, func(t *testing.T) {
			isolate(t)
			_, err := loadWithin(t, "service=orders servicefile="+path)
			var se *Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "service file "+path) {
				t.Fatalf("Load: %v, want an *Error about the service file", err)
			}
			t.Log(err)
		})
		t.Run("passfile="+name, func(t *testing.T) {
			isolate(t)
			s, err := loadWithin(t, "host=db.example.com user=app sslmode=disable passfile="+path)
			if err != nil {
				t.Fatal(err)
			}
			looked := strings.Join(s.Password.LookedIn, "; ")
			if s.Password.Found || !strings.Contains(looked, path+" (ignored: ") {
				t.Fatalf("the password file was not ignored: %+v", s.Password)
			}
			t.Log(looked)
		})
	}
}
