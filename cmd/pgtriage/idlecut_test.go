package main

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

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
