//go:build unix

// The benchmarks measure CPU with getrusage(2) and run PgBouncer as another user: Unix only.

package faultproxy_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// BenchmarkProxyVsPgBouncer measures pgbench select-only throughput
// (pgbench -S -c 8 -j 2 -T N -n) directly against a server, through the
// proxy and through PgBouncer in session mode, each also with TLS towards
// the client (terminated by the proxy or by PgBouncer; the server's own TLS
// for "direct"), in rounds that alternate the targets so that load from
// elsewhere on the machine falls on all of them alike:
//
//	go test -run '^$' -bench ProxyVsPgBouncer -benchtime 1x ./faultproxy
//
// PGBENCH_SECONDS (default 10) and PGBENCH_ROUNDS (default 3) change the
// length. The goals (proxy ≥ PgBouncer and ≥ 80% of direct; with TLS ≥
// PgBouncer with TLS) are printed, not asserted.
func BenchmarkProxyVsPgBouncer(b *testing.B) {
	pgbench := lookTool(b, "pgbench")
	seconds, rounds := envInt("PGBENCH_SECONDS", 10), envInt("PGBENCH_ROUNDS", 3)
	c := pgtest.Start(b, pgtest.Options{TLS: true, MaxConnections: 40,
		HBA: []string{"local all all trust", "host all all 127.0.0.1/32 trust"}})
	upstream := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	run := func(args ...string) string {
		out, err := exec.Command(pgbench, args...).CombinedOutput()
		if err != nil {
			b.Fatalf("pgbench %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("-i", "-q", "-h", c.Host, "-p", strconv.Itoa(c.Port), "-U", "postgres", "postgres")

	ctx := context.Background()
	p, err := faultproxy.Start(ctx, faultproxy.Config{Upstream: upstream})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	bo := pgtest.StartPgBouncer(b, c, pgtest.BouncerOptions{AuthType: "any", ServerUser: "postgres", PoolSize: 20, ClientTLS: "allow"})
	bouncer, bouncerPID := net.JoinHostPort(bo.Host, strconv.Itoa(bo.Port)), bo.PID()

	// CPU time of the middle man per transaction is a second measure, far
	// less moved by other load on the machine than tps: the proxy's is this
	// process's (it does nothing else meanwhile), PgBouncer's its process's.
	type target struct {
		name, addr, sslmode string
		cpu                 func() time.Duration
	}
	selfCPU := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	bouncerCPU := func() time.Duration { return processCPU(b, bouncerPID) }
	targets := []target{
		{"direct", upstream, "disable", nil},
		{"proxy", p.Addr(), "disable", selfCPU},
		{"pgbouncer", bouncer, "disable", bouncerCPU},
		{"direct TLS", upstream, "require", nil},
		{"proxy TLS", p.Addr(), "require", selfCPU},
		{"pgbouncer TLS", bouncer, "require", bouncerCPU},
	}
	if only := os.Getenv("PGBENCH_TARGETS"); only != "" {
		// A comma-separated subset, to look at one target under a profiler.
		targets = slices.DeleteFunc(targets, func(tg target) bool { return !slices.Contains(strings.Split(only, ","), tg.name) })
	}
	tpsRE := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	txRE := regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
	results := map[string][]float64{}
	cpuPerTx := map[string][]float64{} // microseconds
	for round := range rounds {
		for _, tg := range targets {
			host, port, _ := net.SplitHostPort(tg.addr)
			cmd := exec.Command(pgbench, "-S", "-c", "8", "-j", "2", "-T", strconv.Itoa(seconds), "-n",
				"-h", host, "-p", port, "-U", "postgres", "postgres")
			cmd.Env = append(os.Environ(), "PGSSLMODE="+tg.sslmode)
			var cpu0 time.Duration
			if tg.cpu != nil {
				cpu0 = tg.cpu()
			}
			out, err := cmd.CombinedOutput()
			m, tx := tpsRE.FindStringSubmatch(string(out)), txRE.FindStringSubmatch(string(out))
			if err != nil || m == nil || tx == nil {
				b.Fatalf("pgbench against %s: %v\n%s", tg.name, err, out)
			}
			tps, _ := strconv.ParseFloat(m[1], 64)
			results[tg.name] = append(results[tg.name], tps)
			line := fmt.Sprintf("round %d  %-14s %9.0f tps", round+1, tg.name, tps)
			if tg.cpu != nil {
				n, _ := strconv.ParseFloat(tx[1], 64)
				us := float64((tg.cpu() - cpu0).Microseconds()) / n
				cpuPerTx[tg.name] = append(cpuPerTx[tg.name], us)
				line += fmt.Sprintf("  %5.1f µs CPU/tx in the middle", us)
			}
			fmt.Println(line)
		}
	}
	medianOf := func(vs []float64) float64 {
		v := slices.Clone(vs)
		slices.Sort(v)
		return v[len(v)/2]
	}
	median := func(name string) float64 { return medianOf(results[name]) }
	fmt.Printf("\npgbench -S -c 8 -j 2 -T %d, %d rounds alternating, median tps (GOMAXPROCS=%d, %d CPUs shared with whatever else runs):\n",
		seconds, rounds, runtimeProcs(), runtimeCPUs())
	fmt.Printf("%-14s %9s %9s %11s  %s\n", "target", "tps", "/direct", "µs CPU/tx", "tps of each round")
	for _, tg := range targets {
		ref := "direct"
		if strings.HasSuffix(tg.name, "TLS") {
			ref = "direct TLS"
		}
		var rs []string
		for _, v := range results[tg.name] {
			rs = append(rs, fmt.Sprintf("%.0f", v))
		}
		cpu := "-"
		if v := cpuPerTx[tg.name]; v != nil {
			cpu = fmt.Sprintf("%.1f", medianOf(v))
		}
		fmt.Printf("%-14s %9.0f %8.0f%% %11s  %s\n", tg.name, median(tg.name), 100*median(tg.name)/median(ref), cpu, strings.Join(rs, " "))
	}
	if len(targets) < 6 {
		return
	}
	fmt.Printf("goals: proxy/direct %.0f%% (≥ 80%%), proxy/pgbouncer %.0f%% (≥ 100%%), proxy TLS/pgbouncer TLS %.0f%% (≥ 100%%)\n",
		100*median("proxy")/median("direct"), 100*median("proxy")/median("pgbouncer"),
		100*median("proxy TLS")/median("pgbouncer TLS"))
	b.ReportMetric(median("proxy")/median("direct"), "proxy/direct")
	b.ReportMetric(median("proxy")/median("pgbouncer"), "proxy/pgbouncer")
	b.ReportMetric(median("proxy TLS")/median("pgbouncer TLS"), "proxyTLS/pgbouncerTLS")
}

func lookTool(b *testing.B, name string) string {
	b.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("CI") == "true" {
			b.Fatalf("%s not found", name)
		}
		b.Skipf("%s not found: the comparison needs it (apt-get install %s)", name, name)
	}
	return path
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
func runtimeCPUs() int  { return runtime.NumCPU() }

// processCPU is the user and system CPU time of process pid so far.
func processCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and stime are the 12th and 13th.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}
