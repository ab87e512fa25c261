//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// BenchmarkHostileServers measures what a hostile server costs pgtriage, run as users run it: the peak resident
// memory (VmHWM) and the wall time of `check` and of `watch --for` with one target,
// against each fake server of pgtest.StartHostile, with connect_timeout=2.
//
//	go test -run '^$' -bench HostileServers -benchtime 1x ./cmd/pgtriage
//
// The goal: under 64 MB and within connect_timeout (plus the process's start) for every case, and a verdict that
// names the misbehaving server. The figures are printed, not asserted (see the file comment of bench_test.go);
// probe's TestHostileServers asserts the verdicts.
func BenchmarkHostileServers(b *testing.B) {
	bin := buildBinary(b)
	var lines []string
	for _, how := range []pgtest.Hostile{pgtest.EndlessNotices, pgtest.EndlessParameters, pgtest.HugeError} {
		srv := pgtest.StartHostile(b, how)
		conn := srv.ConnString("sslmode=prefer connect_timeout=2")
		for range b.N {
			out, rss, d := peakRSS(b, bin, "check", "--format", "json", conn)
			var r struct {
				Diagnosis struct{ Code string }
			}
			_ = json.Unmarshal(out, &r)
			lines = append(lines, fmt.Sprintf("  %-20s check          peak RSS %7.1f MB  %6.2f s  verdict %s", how, rss, d.Seconds(), r.Diagnosis.Code))
			out, rss, d = peakRSS(b, bin, "watch", "--for", "6s", conn)
			lines = append(lines, fmt.Sprintf("  %-20s watch --for 6s peak RSS %7.1f MB  %6.2f s  %s", how, rss, d.Seconds(), lastLine(out)))
		}
	}
	fmt.Printf("\nHostile servers, connect_timeout=2 (goal: peak RSS < 64 MB, a verdict naming the server):\n%s\n", strings.Join(lines, "\n"))
}

// peakRSS runs pgtriage and returns its standard output, its peak resident memory in MB and its wall time. The peak
// is the kernel's VmHWM of the process, read every 5 ms while it runs: the wait4 maxrss of a child counts the memory
// of this (large) test process at the fork, before the exec.
func peakRSS(b *testing.B, bin string, args ...string) ([]byte, float64, time.Duration) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + os.TempDir(), "PATH=" + os.Getenv("PATH"), "PGPASSFILE=/nonexistent", "NO_COLOR=1"}
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	peak := 0.0
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if kb := vmHWM(status); kb > peak {
			peak = kb
		}
		select {
		case err := <-done:
			if _, ok := err.(*exec.ExitError); err != nil && !ok {
				b.Fatalf("%s: %v", bin, err)
			}
			return out.Bytes(), peak / 1024, time.Since(start)
		case <-tick.C:
		}
	}
}

// vmHWM reads the peak resident set size in kB from a /proc/PID/status file; 0 once the process is gone.
func vmHWM(status string) float64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb
		}
	}
	return 0
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	l := lines[len(lines)-1]
	if len(l) > 120 {
		l = l[:120] + "..."
	}
	return l
}
