package settings

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFilesFor: libpq's file names and places on each platform
// (pqGetHomeDirectory and fe-connect.c): the home directory on Unix,
// %APPDATA%\postgresql on Windows, where a password file is not checked for
// permissions and the default host is localhost.
func TestFilesFor(t *testing.T) {
	for _, tc := range []struct {
		goos, home, appData string
		want                libpqFiles
	}{
		{"linux", "/home/ann", "", libpqFiles{"/home/ann/.pgpass", "/home/ann/.pg_service.conf", "/home/ann/.postgresql", true, true}},
		{"darwin", "/Users/ann", "", libpqFiles{"/Users/ann/.pgpass", "/Users/ann/.pg_service.conf", "/Users/ann/.postgresql", true, true}},
		{"linux", "", "", libpqFiles{checkMode: true, socketDirs: true}},
		{"windows", "/home/ann", "/appdata", libpqFiles{
			passfile:    filepath.Join("/appdata", "postgresql", "pgpass.conf"),
			servicefile: filepath.Join("/appdata", "postgresql", ".pg_service.conf"),
			certDir:     filepath.Join("/appdata", "postgresql"),
		}},
		{"windows", "/home/ann", "", libpqFiles{}},
	} {
		if got := filesFor(tc.goos, tc.home, tc.appData); got != tc.want {
			t.Errorf("filesFor(%q, %q, %q) = %+v, want %+v", tc.goos, tc.home, tc.appData, got, tc.want)
		}
	}
	if h := filesFor("windows", "", `C:\Users\ann\AppData\Roaming`).defaultHost(); h != "localhost" {
		t.Errorf("Windows default host %q, want localhost", h)
	}
}

// TestPassfileModeCheck: a password file others may read is ignored where
// libpq checks (Unix) and used where it does not (Windows).
func TestPassfileModeCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pgpass.conf")
	if err := os.WriteFile(path, []byte("localhost:5432:*:app:s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // past the umask
		t.Fatal(err)
	}
	key := passfileKey{"localhost", "5432", "app", "app"}
	if r := lookupPassfile(path, key, true); r.found || !r.insecure {
		t.Errorf("Unix rules: found=%v insecure=%v, want ignored as insecure", r.found, r.insecure)
	}
	if r := lookupPassfile(path, key, false); !r.found || r.password != "s3cret" || r.line != 1 {
		t.Errorf("Windows rules: found=%v line=%d, want line 1 used", r.found, r.line)
	}
}
