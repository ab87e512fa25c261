package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestIdleCutCommand runs pgtriage idle-cut through a namespace whose connection tracking cuts connections idle
// for 3 s without a word: the text names the silent cut near 3 s and the keepalive settings under it; the JSON
// carries the same figure.
func TestIdleCutCommand(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	const cut = 3 * time.Second
	via := pgtest.IdleCutPath(t, fmt.Sprintf("%s:%d", c.Host, c.Port), cut, false)
	conn := c.ConnString("host="+via.Addr().String(), fmt.Sprintf("port=%d", via.Port()), "user=app", "password=s3cret-pw", "dbname=postgres", "sslmode=disable")

	out, errOut, code := run(t, deps{}, "idle-cut", "--max", "20s", conn)
	t.Logf("conntrack's established timeout set to %s; pgtriage idle-cut said:\n%s", cut, out)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a cut found)\n%s\n%s", code, out, errOut)
	}
	m := regexp.MustCompile(`Idle cut: ([0-9.]+) s \(silent\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no silent cut in the output:\n%s", out)
	}
	var figure float64
	fmt.Sscan(m[1], &figure)
	if math.Abs(figure-cut.Seconds()) > 0.1*cut.Seconds() {
		t.Errorf("figure %.3f s for a cut of %s", figure, cut)
	}
	for _, want := range []string{"Verdict: net.idle_cut", "keepalives_idle=1 keepalives_interval=1", "tcp_keepalives_idle = 1", "MaxConnIdleTime"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "s3cret-pw") {
		t.Fatal("the password in the output")
	}

	out, errOut, code = run(t, deps{}, "idle-cut", "--format", "json", "--max", "20s", "--sessions", "8", conn)
	var r struct {
		Kind          string  `json:"kind"`
		FigureSeconds float64 `json:"figure_seconds"`
		Diagnosis     struct {
			Code string `json:"code"`
		} `json:"diagnosis"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 {
		t.Fatalf("exit %d, %v:\n%s\n%s", code, err, out, errOut)
	}
	if r.Kind != "silent" || r.Diagnosis.Code != "net.idle_cut" || math.Abs(r.FigureSeconds-cut.Seconds()) > 0.1*cut.Seconds() {
		t.Errorf("json: %+v", r)
	}

	if _, errOut, code := run(t, deps{}, "idle-cut", "--ratio", "1", conn); code != usageExit || !strings.Contains(errOut, "--ratio") {
		t.Errorf("--ratio 1: exit %d, %q", code, errOut)
	}
}

// TestWatchIdleProbe: watch --idle-probe keeps one more session idle through faultproxy's idle_cut fault, which
// cuts sessions idle for more than 1 s; the held session, queried every 100 ms, stays up, and each cut is an
// idle_cut event, a line and a metric.
func TestWatchIdleProbe(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := faultproxy.Start(ctx, faultproxy.Config{Upstream: fmt.Sprintf("%s:%d", c.Host, c.Port)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Add(faultproxy.Fault{Kind: faultproxy.KindIdleCut, Idle: faultproxy.Duration(time.Second), Mode: faultproxy.IdleReset}); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(p.Addr())
	events := filepath.Join(t.TempDir(), "events.jsonl")
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- executeWith(deps{}, []string{"watch", "--for", "8s", "--interval", "100ms", "--idle-probe", "2s", "--events", events,
			"--metrics-addr", "127.0.0.1:0", fmt.Sprintf("host=%s port=%s user=app password=s3cret-pw dbname=postgres sslmode=disable", host, port)},
			strings.NewReader(""), &stdout, &stderr)
	}()
	waitForFile(t, events, `"type":"idle_cut".*"note":"reset"`)
	m := regexp.MustCompile(`metrics at (http://\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics address: %q", stderr.String())
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^pgtriage_idle_cuts_total\{kind="reset",target="[^"]+"\} [1-9]`).Match(metrics) {
		t.Errorf("no idle cut metric:\n%s", metrics)
	}
	log, _ := os.ReadFile(events)
	if strings.Contains(string(log), `"type":"outage_start"`) {
		t.Errorf("the idle cut was taken for an outage:\n%s", log)
	}
	select {
	case <-code:
	case <-time.After(30 * time.Second):
		t.Fatal("watch --for 8s did not return")
	}
	if !regexp.MustCompile(`(?m)IDLE CUT \S+ net\.idle_cut \(reset\): a session idle for`).MatchString(stdout.String()) {
		t.Errorf("no IDLE CUT line:\n%s", stdout.String())
	}
}
