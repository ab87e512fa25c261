package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pgtriage/pgtriage/faultproxy/scenario"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// freePort is a loopback port nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestRehearseCommand runs `pgtriage rehearse failover` in-process against a real server while an application
// (demoApp: one session, reconnecting after failures) runs through the proxy, and reads the JSON report.
func TestRehearseCommand(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: demoPassword}}})
	port := freePort(t)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		demoApp(ctx, demoConnString("127.0.0.1", port)+" application_name=orders-api connect_timeout=5")
	})
	defer func() { stop(); wg.Wait() }()
	out, errOut, code := run(t, deps{}, "rehearse", "failover", "--upstream", fmt.Sprintf("%s:%d", c.Host, c.Port),
		"--listen", "127.0.0.1:"+port, "--speed", "5", "--warmup", "3s", "--cooldown", "3s", "--format", "json")
	stop()
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "proxy listening on 127.0.0.1:"+port) || strings.Contains(out+errOut, demoPassword) {
		t.Errorf("progress:\n%s", errOut)
	}
	var r scenario.Rehearsal
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not a rehearsal report: %v\n%s", err, out)
	}
	if r.Scenario != "failover" || r.Speed != 5 || len(r.Timeline) != 3 {
		t.Errorf("scenario %q at %v, %d timeline entries", r.Scenario, r.Speed, len(r.Timeline))
	}
	if len(r.Clients) != 1 || r.Clients[0].Client != "orders-api" {
		t.Fatalf("clients: %+v", r.Clients)
	}
	x := r.Clients[0]
	if x.SessionsEnded != 1 || x.Errors["57P01"] != 1 || x.Errors["57P03"] < 1 || !x.Back {
		t.Errorf("orders-api: want its session ended with 57P01, 57P03 attempts, then back: %+v", x)
	}
	// From the scenario's start (a slow first connection in the warm-up would be a disruption of its own): one
	// disruption, by the terminate, until the faults were lifted 2 s later at 5x speed.
	var during []scenario.Disruption
	for _, d := range x.Disruptions {
		if d.StartS >= 0 {
			during = append(during, d)
		}
	}
	if len(during) != 1 || during[0].Cause != "terminate 57P01" || during[0].AfterS < 1.5 || x.LongestGapS < 1.5 {
		t.Errorf("orders-api disruptions: %+v, longest gap %.2fs", x.Disruptions, x.LongestGapS)
	}
}

// TestRehearseFileAndErrors: a scenario file, text output, TLS to the upstream, and what the command says to bad
// input.
func TestRehearseFileAndErrors(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{TLS: true, HBA: []string{"local all all trust", "hostssl all app 127.0.0.1/32 scram-sha-256"},
		Roles: []pgtest.Role{{Name: "app", Password: demoPassword}}})
	upstream := fmt.Sprintf("%s:%d", c.Host, c.Port)
	dir := t.TempDir()
	good := filepath.Join(dir, "short.yaml")
	if err := os.WriteFile(good, []byte("name: short\nsteps:\n  - at: 0s\n    add: [{kind: blackhole}]\n    for: 200ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\nsteps:\n  - at: 0s\n    add: [{kind: refuse, share: 2}]\n    for: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No application runs: the report says so and the exit code is 1.
	out, errOut, code := run(t, deps{}, "rehearse", good, "--upstream", upstream, "--listen", "127.0.0.1:0", "--warmup", "0s", "--cooldown", "0s")
	if code != 1 || !strings.Contains(out, "Scenario short") || !strings.Contains(out, "add blackhole [blackhole-1]") ||
		!strings.Contains(out, "none: no client connected") || !strings.Contains(errOut, "no client connected through the proxy") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	// The proxy speaks TLS to a server whose pg_hba.conf admits only TLS, verifying its certificate. The client talks
	// to the proxy in the clear: over TLS to the proxy too, SCRAM channel binding (SCRAM-SHA-256-PLUS, which pgx
	// prefers) fails, since the server binds to the proxy's TLS connection, not the client's.
	port := freePort(t)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		demoApp(ctx, demoConnString("127.0.0.1", port)+" application_name=tls-app connect_timeout=5 sslmode=disable")
	})
	out, errOut, code = run(t, deps{}, "rehearse", good, "--upstream", upstream, "--listen", "127.0.0.1:"+port,
		"--upstream-sslmode", "verify-full", "--upstream-sslrootcert", c.CAFile, "--warmup", "3s", "--cooldown", "0s")
	stop()
	wg.Wait()
	if code != 0 || !strings.Contains(out, "tls-app\n    1 connection: 1 session, 0 failed attempts") {
		t.Errorf("over TLS: exit %d\n%s\n%s", code, out, errOut)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"rehearse", bad, "--upstream", upstream}, "bad.yaml:4: steps[0].add[0]: share 2: must be between 0 and 1"},
		{[]string{"rehearse", "failvoer", "--upstream", upstream}, "failvoer: neither a built-in scenario"},
		{[]string{"rehearse", "failover"}, "--upstream HOST:PORT is required"},
		{[]string{"rehearse", "failover", "--upstream", "db.example.com"}, `--upstream "db.example.com": want HOST:PORT`},
		{[]string{"rehearse", "failover", "--upstream", upstream, "--speed", "0"}, "--speed 0: must be a number more than 0"},
		{[]string{"rehearse", "failover", "--upstream", upstream, "--speed", "NaN"}, "--speed NaN: must be a number more than 0"},
		{[]string{"rehearse", "failover", "--upstream", upstream, "--upstream-sslmode", "prefer"}, "must be disable, require, verify-ca or verify-full"},
		{[]string{"rehearse", "--print", "nosuch"}, `no built-in scenario "nosuch"`},
		{[]string{"rehearse"}, "name a scenario"},
	}
	for _, tt := range tests {
		out, errOut, code := run(t, deps{}, tt.args...)
		if code != usageExit || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, want %d with %q\n%s%s", tt.args, code, usageExit, tt.want, out, errOut)
		}
	}
	// --print gives a file that parses back to the same scenario; --list names every built-in.
	out, _, code = run(t, deps{}, "rehearse", "--print", "maintenance")
	if s, err := scenario.Parse("printed", []byte(out)); code != 0 || err != nil || s.Name != "maintenance" {
		t.Errorf("--print: exit %d, %v", code, err)
	}
	out, _, _ = run(t, deps{}, "rehearse", "--list")
	for _, name := range scenario.Builtins() {
		if !strings.Contains(out, name+" ") {
			t.Errorf("--list lacks %s:\n%s", name, out)
		}
	}
}
