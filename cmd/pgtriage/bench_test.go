package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// The speed goals of `check`, measured against psql and pg_isready in the same run, each as a whole process:
//
//	go test -run '^$' -bench . -benchtime 30x ./cmd/pgtriage
//
// BenchmarkHealthyTLS: a healthy server over TLS (verify-full) with SCRAM; the full check's median wall time must
// not exceed `psql -c 'select 1'` on the same connection string. BenchmarkBlackholedHosts: three hosts whose
// packets a firewall drops, connect_timeout=2; the check's verdict must come within 3 s where psql tries the hosts
// one after another. The comparison is printed; the goals are not asserted, because timing on a shared machine is
// for people to read, not for a test to fail on.

// buildBinary compiles pgtriage once for the benchmark, so that it runs as users run it.
func buildBinary(b testing.TB) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "pgtriage")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func needTool(b *testing.B, name string) string {
	b.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		b.Skipf("%s not found: the comparison needs it", name)
	}
	return p
}

// timed runs a command with a clean environment and returns its wall time and exit code.
func timed(b *testing.B, name string, args ...string) (time.Duration, int) {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"HOME=" + os.TempDir(), "PATH=" + os.Getenv("PATH"), "PGPASSFILE=/nonexistent", "NO_COLOR=1"}
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d, code
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

type series struct {
	name  string
	times []time.Duration
}

func report(b *testing.B, title string, all []series) {
	b.Helper()
	var lines []string
	base := median(all[0].times)
	for _, s := range all {
		m := median(s.times)
		lines = append(lines, fmt.Sprintf("  %-34s median %8.1f ms  min %8.1f ms  (%.2fx of %s)  n=%d", s.name,
			float64(m.Microseconds())/1000, float64(slices.Min(s.times).Microseconds())/1000, float64(m)/float64(base), all[0].name, len(s.times)))
		b.ReportMetric(float64(m.Microseconds())/1000, strings.Fields(s.name)[0]+"-ms")
	}
	fmt.Printf("\n%s\n%s\n", title, strings.Join(lines, "\n"))
}

func BenchmarkHealthyTLS(b *testing.B) {
	psql := needTool(b, "psql")
	isready := needTool(b, "pg_isready")
	bin := buildBinary(b)
	c := pgtest.Start(b, pgtest.Options{TLS: true, Roles: []pgtest.Role{{Name: "app", Password: "bench-pw"}}})
	conn := c.ConnString("host=localhost", "user=app", "password=bench-pw", "dbname=postgres", "sslmode=verify-full", "sslrootcert="+c.CAFile, "connect_timeout=5")
	check, direct, ready := series{name: "pgtriage check (full diagnosis)"}, series{name: "psql -c 'select 1'"}, series{name: "pg_isready (no auth, reference)"}
	b.ResetTimer()
	for range b.N {
		// Interleaved, so that a noisy moment hits all three alike.
		if d, code := timed(b, bin, "check", conn); code == 0 {
			check.times = append(check.times, d)
		} else {
			b.Fatalf("pgtriage check exited %d", code)
		}
		if d, code := timed(b, psql, "-X", "-q", "-d", conn, "-c", "select 1"); code == 0 {
			direct.times = append(direct.times, d)
		} else {
			b.Fatalf("psql exited %d", code)
		}
		if d, code := timed(b, isready, "-q", "-d", conn); code == 0 {
			ready.times = append(ready.times, d)
		}
	}
	b.StopTimer()
	all := []series{direct, check}
	if len(ready.times) > 0 {
		all = append(all, ready)
	}
	report(b, "Healthy server, TLS verify-full + SCRAM-SHA-256 (goal: check median <= psql median):", all)
}

func BenchmarkBlackholedHosts(b *testing.B) {
	psql := needTool(b, "psql")
	bin := buildBinary(b)
	ns := pgtest.NewNetns(b)
	var hosts []string
	for range 3 {
		hosts = append(hosts, ns.Addr(b).String())
	}
	rules := "table inet pgtriage {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport 5432 drop\n }\n}\n"
	ns.Nft(b, rules)
	conn := "host=" + strings.Join(hosts, ",") + " port=5432 user=app dbname=x connect_timeout=2 sslmode=disable"
	check, direct := series{name: "pgtriage check (verdict)"}, series{name: "psql (hosts one after another)"}
	b.ResetTimer()
	for range b.N {
		if d, code := timed(b, bin, "check", conn); code == 2 {
			check.times = append(check.times, d)
		} else {
			b.Fatalf("pgtriage check exited %d, want 2", code)
		}
		d, _ := timed(b, psql, "-X", "-q", "-d", conn, "-c", "select 1")
		direct.times = append(direct.times, d)
	}
	b.StopTimer()
	report(b, "Three blackholed hosts, connect_timeout=2 (goal: check verdict within 3 s):", []series{direct, check})
}
