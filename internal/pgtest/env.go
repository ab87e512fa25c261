package pgtest

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Isolate keeps the machine's settings out of a test, as a fresh machine would be: every PG* variable is unset
// for the test's duration, HOME is an empty directory, and PGPASSFILE and PGSERVICEFILE name files that do not
// exist, so that a developer's ~/.pgpass or service file cannot change an answer.
func Isolate(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PG") {
			t.Setenv(k, "") // restores the value after the test
			os.Unsetenv(k)
		}
	}
	keepGoCaches(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PGPASSFILE", filepath.Join(home, "no-pgpass"))
	t.Setenv("PGSERVICEFILE", filepath.Join(home, "no-service"))
}

// keepGoCaches pins the go command's caches to where they are before HOME changes: a test that builds the binary
// under an empty HOME would otherwise compile every dependency again and fetch every module (minutes under load).
func keepGoCaches(t *testing.T) {
	t.Helper()
	dirs := map[string]string{"GOPATH": build.Default.GOPATH}
	if gopath := filepath.SplitList(build.Default.GOPATH); len(gopath) > 0 {
		dirs["GOMODCACHE"] = filepath.Join(gopath[0], "pkg", "mod")
	}
	if cache, err := os.UserCacheDir(); err == nil {
		dirs["GOCACHE"] = filepath.Join(cache, "go-build")
	}
	for k, v := range dirs {
		if os.Getenv(k) == "" && v != "" {
			t.Setenv(k, v)
		}
	}
}

// missing skips a test whose prerequisite this machine lacks, with the reason. Under CI (CI=true) it fails the
// test instead: CI installs every prerequisite, so a skip there would hide a broken install step.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true: CI must install it)", args...)
	}
	t.Skipf(format, args...)
}

// Missing is missing for tests outside this package whose prerequisite is not a server (Docker, Wine).
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	missing(t, format, args...)
}
