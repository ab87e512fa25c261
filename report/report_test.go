package report_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/report"
	"github.com/pgtriage/pgtriage/settings"
	"github.com/pgtriage/pgtriage/watch"
)

// logCount waits until the event log at path holds n events of a type for a target: the log is written with one
// write an event, so reading it back is how a person would follow it.
func logCount(t *testing.T, path string, typ eventlog.EventType, target string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		evs, _, _ := eventlog.ReadEvents(bytes.NewReader(b))
		got := 0
		for _, ev := range evs {
			if ev.Type == typ && ev.Target == target {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d %s events for %s within 60s", n, typ, target)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// events makes a real event log: two servers watched while one is stopped fast, then immediately, and the other
// filled to its connection limit.
func events(t *testing.T, path string) {
	pgtest.Isolate(t)
	role := pgtest.Role{Name: "app", Password: "r3port-pw"}
	orders := pgtest.Start(t, pgtest.Options{TLS: true, Roles: []pgtest.Role{role}})
	billing := pgtest.Start(t, pgtest.Options{MaxConnections: 6, Roles: []pgtest.Role{role}})
	var targets []watch.Target
	for _, c := range []struct {
		name string
		c    *pgtest.Cluster
	}{{"orders-primary", orders}, {"billing", billing}} {
		s, err := settings.Load(c.c.ConnString("user=app", "password="+role.Password, "dbname=postgres", "connect_timeout=5"))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, watch.Target{Name: c.name, Settings: s})
	}
	log, _, err := watch.OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := watch.New(targets, watch.Options{Interval: 100 * time.Millisecond, LoginEvery: 3, RetryInterval: 50 * time.Millisecond,
		LatencyEvery: 250 * time.Millisecond, Sinks: []watch.Sink{log}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if err := log.Close(); err != nil {
			t.Error(err)
		}
	}()
	// A stretch of latency before and between the faults, so the page has something to draw: these waits are for
	// events, and the outages last as long as the servers take.
	logCount(t, path, eventlog.EventLatency, "billing", 4)
	orders.Stop(t, "fast")
	logCount(t, path, eventlog.EventOutageCause, "orders-primary", 1)
	logCount(t, path, eventlog.EventLatency, "billing", 8)
	orders.Resume(t)
	logCount(t, path, eventlog.EventOutageEnd, "orders-primary", 1)

	var held []*pgconn.PgConn
	for {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := pgconn.Connect(cctx, billing.SuperuserConnString())
		ccancel()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53300" {
			break
		}
		if err != nil || len(held) > 10 {
			t.Fatalf("filling billing: %v (%d held)", err, len(held))
		}
		held = append(held, conn)
	}
	logCount(t, path, eventlog.EventOutageStart, "billing", 1)
	logCount(t, path, eventlog.EventLatency, "orders-primary", 16)
	for _, h := range held {
		h.Close(context.Background())
	}
	logCount(t, path, eventlog.EventOutageEnd, "billing", 1)
	orders.Stop(t, "immediate")
	logCount(t, path, eventlog.EventOutageEscalate, "orders-primary", 1)
	logCount(t, path, eventlog.EventLatency, "billing", 30)
	orders.Resume(t)
	logCount(t, path, eventlog.EventOutageEnd, "orders-primary", 2)
	logCount(t, path, eventlog.EventLatency, "orders-primary", 30)
}

// TestReportInBrowser renders a real event log and loads the page in headless Chromium: the DOM it built has an
// outage rectangle and a row for every outage of the log, no script, and nothing secret; a screenshot is taken
// (PGTRIAGE_REPORT_PNG=path keeps it).
func TestReportInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (.ci/run installs it)")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	keep := os.Getenv("PGTRIAGE_REPORT_PNG") // before pgtest.Isolate unsets every PG* variable
	dir := t.TempDir()
	logPath := filepath.Join(dir, "events.jsonl")
	events(t, logPath)

	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	fold, ended := report.NewFolder(), 0
	st, err := eventlog.Scan(f, func(ev eventlog.Event) {
		fold.Add(ev)
		if ev.Type == eventlog.EventOutageEnd {
			ended++
		}
	})
	f.Close()
	if err != nil || st.Skipped != 0 {
		t.Fatalf("read the log: %v, %d skipped", err, st.Skipped)
	}
	var page bytes.Buffer
	if err := fold.Write(&page, report.Options{Title: "pgtriage watch: orders and billing", Source: "events.jsonl"}); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	if strings.Contains(html, "r3port-pw") || strings.Contains(strings.ToLower(html), "<script") || strings.Contains(html, "http://") && !strings.Contains(html, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Fatalf("the page has a password, a script or a link out")
	}
	htmlPath := filepath.Join(dir, "report.html")
	if err := os.WriteFile(htmlPath, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dom := browse(t, chromium, "--dump-dom", "file://"+htmlPath)
	if got := len(regexp.MustCompile(`<rect class="outage (transient|escalate)"`).FindAllString(dom, -1)); got != ended || ended != 3 {
		t.Errorf("%d outage rectangles in the DOM for %d outages in the log (want 3)", got, ended)
	}
	if got := strings.Count(dom, `<tr class="outage-row">`); got != ended {
		t.Errorf("%d outage rows for %d outages", got, ended)
	}
	for _, want := range []string{`data-cause="tcp.refused"`, `data-cause="limits.`, `class="badge escalate"`, `class="p50"`, `data-kind="restart"`, "orders-primary", "billing"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %s", want)
		}
	}

	png := filepath.Join(dir, "report.png")
	browse(t, chromium, "--screenshot="+png, "--window-size=1400,1000", "file://"+htmlPath)
	b, err := os.ReadFile(png)
	if err != nil || len(b) < 10_000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %v, %d bytes", err, len(b))
	}
	if keep != "" {
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(strings.TrimSuffix(keep, ".png")+".html", page.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// browse runs headless Chromium once, offline, with a profile of its own, and returns what it printed.
func browse(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	if strings.Contains(stderr.String(), "Uncaught") {
		t.Errorf("the page raised a script error:\n%s", stderr.String())
	}
	return stdout.String()
}
