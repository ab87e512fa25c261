//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// BenchmarkHostileServers measures what a hostile server costs pgtriage, run as users run it: the peak resident
// memory (the kernel's maxrss of the process) and the wall time of `check` and of `watch --for` with one target,
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

// peakRSS runs pgtriage and returns its standard output, its peak resident memory in MB and its wall time.
func peakRSS(b *testing.B, bin string, args ...string) ([]byte, float64, time.Duration) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + os.TempDir(), "PATH=" + os.Getenv("PATH"), "PGPASSFILE=/nonexistent", "NO_COLOR=1"}
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		b.Fatalf("%s: %v", bin, err)
	}
	return out.Bytes(), float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024, d
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	l := lines[len(lines)-1]
	if len(l) > 120 {
		l = l[:120] + "..."
	}
	return l
}
