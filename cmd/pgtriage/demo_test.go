package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestCheckThroughProxy: for every fault of the demo, `pgtriage check` through the proxy in front of a real server
// names the cause the fault stands for, with pg_isready's exit code. Faults a real server cannot show on demand
// (starting up, recovery, a session ended after the login) come from the proxy, with the server's exact messages.
func TestCheckThroughProxy(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: demoPassword}}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target, err := newDemoTarget(ctx, fmt.Sprintf("%s:%d", c.Host, c.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer target.proxy.Close()
	want := map[string]struct {
		code catalog.Code
		exit int
	}{
		"none":                              {catalog.OK, 0},
		"refuse":                            {catalog.ConnReset, 2}, // a listener cannot refuse: the client sees a reset
		"blackhole":                         {catalog.ServerUnresponsive, 2},
		"reset at accept":                   {catalog.ConnReset, 2},
		"reset at startup":                  {catalog.ConnReset, 1},
		"error server.starting_up":          {catalog.ServerStartingUp, 1},
		"error server.shutting_down":        {catalog.ServerShuttingDown, 1},
		"error server.recovery":             {catalog.ServerRecovery, 1},
		"terminate 57P01":                   {catalog.ServerTerminated, 1},
		"error limits.too_many_connections": {catalog.LimitsTooManyConnections, 1},
		"error limits.reserved_slots":       {catalog.LimitsReservedSlots, 1},
		"error auth.password_failed":        {catalog.AuthPasswordFailed, 1},
		"error auth.hba_rejected":           {catalog.AuthHBARejected, 1},
		"error auth.role_not_found":         {catalog.AuthRoleNotFound, 1},
		"error db.not_found":                {catalog.DBNotFound, 1},
		"read_only":                         {catalog.ServerReadOnly, 1},
		"latency 150ms":                     {catalog.OK, 0},
	}
	for _, dc := range demoCases() {
		w, ok := want[dc.name]
		if !ok {
			t.Errorf("%s: no expected code", dc.name)
			continue
		}
		var diag struct {
			Code          catalog.Code `json:"code"`
			SQLState      string       `json:"sqlstate"`
			ClientAddress string       `json:"client_address"`
			Evidence      string       `json:"evidence"`
		}
		var exit int
		if dc.live == nil {
			// The check command itself, through the proxy.
			target.proxy.Clear()
			if dc.fault != nil {
				if _, err := target.proxy.Add(*dc.fault); err != nil {
					t.Fatal(err)
				}
			}
			out, errOut, code := run(t, deps{}, "check", "--format", "json", target.connString(dc))
			var report struct {
				Diagnosis json.RawMessage `json:"diagnosis"`
			}
			if err := json.Unmarshal([]byte(out), &report); err != nil || json.Unmarshal(report.Diagnosis, &diag) != nil {
				t.Fatalf("%s: not a check report: %v\n%s%s", dc.name, err, out, errOut)
			}
			if strings.Contains(out+errOut, demoPassword) {
				t.Errorf("%s: password in the output", dc.name)
			}
			exit = code
		} else {
			// A session ended right after the login needs the fault at the right moment: the demo's runner does it.
			r, err := target.check(ctx, dc)
			if err != nil {
				t.Fatal(err)
			}
			diag.Code, diag.SQLState, diag.Evidence = r.Diagnosis.Code, r.Diagnosis.SQLState, r.Diagnosis.Evidence
			exit = r.Status.ExitCode()
		}
		if diag.Code != w.code || exit != w.exit {
			t.Errorf("%s: check says %s (exit %d), want %s (exit %d); evidence: %s", dc.name, diag.Code, exit, w.code, w.exit, diag.Evidence)
		}
		if dc.name == "error auth.hba_rejected" && diag.ClientAddress != "203.0.113.7" {
			t.Errorf("hba_rejected: client address %q, want the one in the server's message", diag.ClientAddress)
		}
		if dc.name == "terminate 57P01" && (diag.SQLState != "57P01" || !strings.Contains(diag.Evidence, "right after the login")) {
			t.Errorf("terminate: sqlstate %q, evidence %q", diag.SQLState, diag.Evidence)
		}
	}
	target.proxy.Clear()
}

// TestDemo runs `pgtriage demo` end to end: its own server, every fault, the rehearsal and the summary.
func TestDemo(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	out, errOut, code := run(t, deps{}, "demo")
	if code != 0 && strings.Contains(errOut, "no PostgreSQL server binaries") && os.Getenv("CI") != "true" {
		t.Skip(errOut)
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	summary := out[strings.Index(out, "Summary:"):]
	for _, row := range []string{"refuse  conn.reset", "blackhole  server.unresponsive", "terminate 57P01  server.terminated",
		"error auth.hba_rejected  auth.hba_rejected", "read_only  server.read_only"} {
		fields := strings.Fields(row)
		found := false
		for _, line := range strings.Split(summary, "\n") {
			if strings.Join(strings.Fields(line), " ") != "" && strings.HasPrefix(strings.Join(strings.Fields(line), " "), strings.Join(fields, " ")) {
				found = true
			}
		}
		if !found {
			t.Errorf("summary lacks %q:\n%s", row, summary)
		}
	}
	for _, want := range []string{"Rehearsal: the failover scenario", "demo-app", "errors sent: 57P01 ×1", "first step: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, demoPassword) {
		t.Errorf("password in the output")
	}
}
