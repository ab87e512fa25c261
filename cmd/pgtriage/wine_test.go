package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// wineRunner runs Windows programs under Wine in a prefix of the test's own.
type wineRunner struct {
	wine    string
	env     []string
	appData string // %APPDATA% as a path of this machine
}

// newWine finds Debian's wine64 and makes a fresh prefix; its %APPDATA% is
// asked of Windows itself (cmd's echo), not guessed.
func newWine(t *testing.T, ctx context.Context) *wineRunner {
	t.Helper()
	w := &wineRunner{}
	for _, name := range []string{"wine64", "wine", "/usr/lib/wine/wine64"} {
		if p, err := exec.LookPath(name); err == nil {
			w.wine = p
			break
		}
	}
	if w.wine == "" {
		pgtest.Missing(t, "the Windows build's tests need Wine (Debian's wine64)")
	}
	prefix := t.TempDir()
	w.env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all")
	t.Cleanup(func() {
		kill := exec.Command(filepath.Join(filepath.Dir(w.wine), "wineserver"), "-k")
		kill.Env = w.env
		kill.Run()
	})
	out, _, err := w.run(ctx, "", "cmd", "/c", "echo %APPDATA%")
	if err != nil {
		t.Fatalf("wine cmd: %v\n%s", err, out)
	}
	// Go's Windows runtime (1.22 and later) takes its random numbers from
	// ProcessPrng in bcryptprimitives.dll; a Wine without it (Debian 12's
	// 8.0) cannot start any Go program.
	if _, err := os.Stat(filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")); err != nil {
		pgtest.Missing(t, "this Wine has no bcryptprimitives.dll, which Go's Windows runtime needs (Wine 9 or later has it): %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	win := strings.TrimSpace(lines[len(lines)-1])
	rest, ok := strings.CutPrefix(win, `C:\`)
	if !ok {
		t.Fatalf("%%APPDATA%% is %q, not on C:", win)
	}
	w.appData = filepath.Join(prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
	return w
}

// run runs a program under Wine in dir and returns its stdout, exit code and an error other than a non-zero exit.
func (w *wineRunner) run(ctx context.Context, dir string, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, w.wine, args...)
	cmd.Env, cmd.Dir = w.env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return stdout.String() + stderr.String(), ee.ExitCode(), nil
	}
	return stdout.String(), 0, err
}

// goBuildWindows runs go build or go test -c for windows/amd64.
func goBuildWindows(t *testing.T, args ...string) {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gocmd, args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestWindowsBuildUnderWine runs the Windows build under Wine: the tests of
// the packages that need no server, and pgtriage.exe against a real cluster
// with the password from %APPDATA%\postgresql\pgpass.conf and the root
// certificate for verify-full from %APPDATA%\postgresql\root.crt, as libpq
// reads them on Windows.
func TestWindowsBuildUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("Wine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	w := newWine(t, ctx)
	bin := t.TempDir()

	t.Run("unit tests", func(t *testing.T) {
		for _, pkg := range []string{"catalog", "settings", "explain", "firewall", "internal/filelock"} {
			exe := filepath.Join(bin, strings.ReplaceAll(pkg, "/", "_")+".test.exe")
			goBuildWindows(t, "test", "-c", "-o", exe, "./"+pkg)
			out, code, err := w.run(ctx, filepath.Join("../..", pkg), exe, "-test.short")
			if err != nil || code != 0 || !strings.Contains(out, "PASS") {
				t.Errorf("%s under Wine: exit %d, %v\n%s", pkg, code, err, out)
			}
		}
	})

	exe := filepath.Join(bin, "pgtriage.exe")
	goBuildWindows(t, "build", "-o", exe, "./cmd/pgtriage")
	c := pgtest.Start(t, pgtest.Options{TLS: true, Roles: []pgtest.Role{{Name: "app", Password: watchPassword}}})
	dir := filepath.Join(w.appData, "postgresql")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.crt"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	conn := "host=localhost port=" + strconv.Itoa(c.Port) + " user=app dbname=postgres sslmode=verify-full connect_timeout=20"
	for _, tc := range []struct {
		name, password string
		exit           int
		code           string
	}{
		{"healthy", watchPassword, 0, "ok"},
		{"wrong password", "wrong-" + watchPassword, 1, "auth.password_failed"},
	} {
		t.Run("check "+tc.name, func(t *testing.T) {
			// Readable by everyone, as files on Windows look to Go: libpq checks no permissions there.
			line := "localhost:" + strconv.Itoa(c.Port) + ":*:app:" + tc.password + "\r\n"
			if err := os.WriteFile(filepath.Join(dir, "pgpass.conf"), []byte(line), 0o644); err != nil {
				t.Fatal(err)
			}
			out, code, err := w.run(ctx, "", exe, "check", "--format", "json", conn)
			if err != nil {
				t.Fatal(err)
			}
			var report struct {
				Diagnosis struct{ Code string } `json:"diagnosis"`
			}
			if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &report); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if code != tc.exit || report.Diagnosis.Code != tc.code {
				t.Errorf("exit %d, code %q; want %d, %q\n%s", code, report.Diagnosis.Code, tc.exit, tc.code, out)
			}
			if !strings.Contains(out, `pgpass.conf line 1`) {
				t.Errorf("the password's source is not %%APPDATA%%\\postgresql\\pgpass.conf line 1:\n%s", out)
			}
			if strings.Contains(out, watchPassword) {
				t.Error("the password appears in the output")
			}
		})
	}

	t.Run("explain firewall report", func(t *testing.T) {
		logFile := filepath.Join(t.TempDir(), "client.log")
		os.WriteFile(logFile, []byte(`FATAL:  password authentication failed for user "app"`+"\n"), 0o644)
		out, code, err := w.run(ctx, "", exe, "explain", "--format", "json", "--file", logFile)
		if err != nil || code != 0 || !strings.Contains(out, "auth.password_failed") {
			t.Errorf("explain: exit %d, %v\n%s", code, err, out)
		}
		rules, _ := filepath.Abs("../../firewall/testdata/az-flexible-list.json")
		out, code, err = w.run(ctx, "", exe, "firewall", "--rules", rules, "--ip", "203.0.113.7")
		if err != nil || code > 1 || !strings.Contains(out, "203.0.113.7") {
			t.Errorf("firewall: exit %d, %v\n%s", code, err, out)
		}
		events := filepath.Join(t.TempDir(), "events.jsonl")
		out, code, err = w.run(ctx, "", exe, "watch", "--for", "3s", "--interval", "500ms", "--events", events, conn)
		if err != nil || code != 0 {
			t.Fatalf("watch: exit %d, %v\n%s", code, err, out)
		}
		html := filepath.Join(t.TempDir(), "report.html")
		out, code, err = w.run(ctx, "", exe, "report", events, "-o", html)
		page, _ := os.ReadFile(html)
		if err != nil || code != 0 || !bytes.Contains(page, []byte("<html")) {
			t.Errorf("report: exit %d, %v\n%s", code, err, out)
		}
	})
}
