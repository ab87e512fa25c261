package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

const watchPassword = "cl1-w4tch-pw"

// waitForFile waits until the file holds a line matching re, up to a generous deadline.
func waitForFile(t *testing.T, path string, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if rx.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no line matching %s within 60s:\n%s", path, re, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWatchCommand runs pgtriage watch against a real server that is stopped and started again meanwhile: plain
// lines on a pipe, the event log, and the metrics endpoint; then pgtriage report turns the log into a page.
func TestWatchCommand(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: watchPassword}}})
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- executeWith(deps{}, []string{"watch", "--for", "6s", "--interval", "100ms", "--login-every", "3", "--retry", "50ms",
			"--events", events, "--metrics-addr", "127.0.0.1:0",
			c.ConnString("user=app", "password="+watchPassword, "dbname=postgres")}, strings.NewReader(""), &stdout, &stderr)
	}()
	waitForFile(t, events, `"type":"server"`)
	m := regexp.MustCompile(`metrics at (http://\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics address on stderr: %q", stderr.String())
	}
	c.Stop(t, "fast")
	waitForFile(t, events, `"type":"outage_cause".*"tcp.refused"`)
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^pgtriage_up\{target="app@127\.0\.0\.1:\d+/postgres"\} 0$`).Match(metrics) {
		t.Errorf("metrics during the outage lack pgtriage_up 0:\n%s", metrics)
	}
	c.Resume(t)
	waitForFile(t, events, `"type":"outage_end"`)
	select {
	case got := <-code:
		if got != 0 {
			t.Fatalf("exit %d\n%s\n%s", got, stdout.String(), stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("watch --for 6s did not return")
	}
	out := stdout.String()
	for _, want := range []string{
		`(?m)^\d\d:\d\d:\d\d DOWN app@127\.0\.0\.1:\d+/postgres server\.terminated \(session\): FATAL: terminating connection due to administrator command \(SQLSTATE 57P01\)$`,
		// The outage is named after the code most retries saw: tcp.refused, or on a busy machine the first code.
		`(?m)^\d\d:\d\d:\d\d UP app@127\.0\.0\.1:\d+/postgres after [0-9.]+m?s: [a-z_.]+, transient$`,
		`(?m)^\d\d:\d\d:\d\d RESTART app@127\.0\.0\.1:\d+/postgres the server restarted`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr.String(), "\x1b[") {
		t.Errorf("escape codes on a pipe:\n%s", out)
	}
	b, _ := os.ReadFile(events)
	if strings.Contains(string(b)+out+stderr.String()+string(metrics), watchPassword) {
		t.Fatalf("the password leaked")
	}

	html := filepath.Join(dir, "report.html")
	var rout, rerr bytes.Buffer
	if got := executeWith(deps{}, []string{"report", events, "-o", html}, strings.NewReader(""), &rout, &rerr); got != 0 {
		t.Fatalf("report: exit %d: %s", got, rerr.String())
	}
	page, _ := os.ReadFile(html)
	if !regexp.MustCompile(`<rect class="outage transient" data-cause="[a-z_.]+"`).Match(page) || bytes.Contains(page, []byte(watchPassword)) {
		t.Errorf("the report lacks the outage or has the password")
	}
}

// TestWatchSignal runs the real binary: SIGHUP reloads the targets and leaves it running (it says so on stderr),
// SIGTERM stops it with exit 0 and the event log ends with watch_stop, every line whole.
func TestWatchSignal(t *testing.T) {
	bin := buildBinary(t)
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: watchPassword}}})
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "watch", "--interval", "100ms", "--events", events,
		c.ConnString("user=app", "password="+watchPassword, "dbname=postgres"))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, events, `"type":"server"`)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "watch to reload on SIGHUP", func() bool { return strings.Contains(out.String(), "SIGHUP: 1 targets") })
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("watch ended on SIGHUP: %v\n%s", err, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, out.String())
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		last = sc.Text()
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	evs, skipped, err := eventlog.ReadEvents(f)
	if err != nil || skipped != 0 || len(evs) < 3 || !strings.Contains(last, `"type":"watch_stop"`) {
		t.Errorf("log after SIGTERM: %d events, %d skipped, %v; last line %s", len(evs), skipped, err, last)
	}
}

func TestWatchUsage(t *testing.T) {
	pgtest.Isolate(t)
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yml")
	os.WriteFile(badConfig, []byte("targets:\n  - conn: host=x\n    intervall: 5s\n"), 0o644)
	noEvents := filepath.Join(dir, "no.jsonl")
	os.WriteFile(noEvents, []byte("not an event\n{\"a\":1}\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"watch", "--interval", "0s", "host=localhost"}, "--interval must be positive"},
		{[]string{"watch", "host=localhost sslmode=requre password=hunter2"}, "sslmode"},
		{[]string{"watch", "--config", badConfig}, "field intervall not found"},
		{[]string{"watch", "--config", filepath.Join(dir, "missing.yml")}, "no such file"},
		{[]string{"watch", "--metrics-addr", "256.0.0.1:1", "host=localhost"}, "--web.listen-address"},
		{[]string{"watch", "--events", noEvents, "host=localhost"}, "is not a watch event log"},
		{[]string{"report", filepath.Join(dir, "missing.jsonl")}, "no such file"},
		{[]string{"report", noEvents}, "no watch events (2 lines skipped)"},
		{[]string{"report"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		out, errOut, code := run(t, deps{}, tt.args...)
		if code != usageExit || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%q: exit %d, want 3 with %q\n%s%s", tt.args, code, tt.want, out, errOut)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Errorf("%q: the password in the output", tt.args)
		}
	}
	if b, _ := os.ReadFile(noEvents); string(b) != "not an event\n{\"a\":1}\n" {
		t.Errorf("watch --events changed a file that is not an event log: %q", b)
	}
}

// TestReportRefusesToOverwriteItsInput: -o naming the event log, by its name, a hard link or a symbolic link, is
// refused and the log is left as it was; another file is written.
func TestReportRefusesToOverwriteItsInput(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	log := `{"time":"2026-11-24T20:29:19Z","type":"watch_start","target":"orders"}` + "\n" +
		`{"time":"2026-11-24T20:29:22Z","type":"outage_end","target":"orders","code":"tcp.refused"}` + "\n"
	if err := os.WriteFile(events, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	hard, sym := filepath.Join(dir, "hard.jsonl"), filepath.Join(dir, "sym.jsonl")
	if err := os.Link(events, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(events, sym); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{events, hard, sym, filepath.Join(dir, ".", "events.jsonl")} {
		_, errOut, code := run(t, deps{}, "report", events, "-o", out)
		if code != usageExit || !strings.Contains(errOut, "would destroy the log") {
			t.Errorf("-o %s: exit %d, %s", out, code, errOut)
		}
	}
	if got, _ := os.ReadFile(events); string(got) != log {
		t.Fatalf("the event log changed:\n%s", got)
	}
	html := filepath.Join(dir, "report.html")
	if _, errOut, code := run(t, deps{}, "report", events, "-o", html); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got, _ := os.ReadFile(html); !strings.Contains(string(got), "<html") {
		t.Errorf("no HTML page written")
	}
}

// TestWatchOnAPipe runs the real binary with standard output a pipe, as a service manager or `| tee` has it: a
// start line at once, a line per event; with --format json (and --events -) a JSON line per event from watch_start
// to watch_stop, which SIGTERM writes.
func TestWatchOnAPipe(t *testing.T) {
	bin := buildBinary(t)
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: watchPassword}}})
	conn := c.ConnString("user=app", "password="+watchPassword, "dbname=postgres")
	for _, tt := range []struct {
		name  string
		args  []string
		first string // in the first line
		until string // the line that shows the target was reached
		json  bool
	}{
		{"text", nil, "pgtriage watch: 1 target(s): app@", "CONNECTED", false},
		{"--format json", []string{"--format", "json"}, `"type":"watch_start"`, `"type":"server"`, true},
		{"--events -", []string{"--events", "-"}, `"type":"watch_start"`, `"type":"server"`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append(append([]string{"watch", "--interval", "100ms"}, tt.args...), conn)...)
			cmd.Dir = t.TempDir() // a file named "-" would land here
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errOut syncBuffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			sc := bufio.NewScanner(out)
			var lines []string
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if strings.Contains(sc.Text(), tt.until) {
					break
				}
			}
			if len(lines) == 0 || !strings.Contains(lines[0], tt.first) {
				t.Fatalf("first line %q, want %q; stderr:\n%s", lines, tt.first, errOut.String())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v\n%s", err, errOut.String())
			}
			last := lines[len(lines)-1]
			if tt.json {
				for _, l := range lines {
					var ev eventlog.Event
					if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Time.IsZero() {
						t.Errorf("not an event line: %q (%v)", l, err)
					}
				}
				if !strings.Contains(last, `"type":"watch_stop"`) {
					t.Errorf("last line %q, want watch_stop", last)
				}
			} else if !strings.Contains(last, "STOP watch stopped") {
				t.Errorf("last line %q, want the stop", last)
			}
			if strings.Contains(strings.Join(lines, "\n")+errOut.String(), watchPassword) {
				t.Errorf("password in the output")
			}
			if _, err := os.Stat(filepath.Join(cmd.Dir, "-")); err == nil {
				t.Errorf("--events - wrote a file named -")
			}
		})
	}
}
