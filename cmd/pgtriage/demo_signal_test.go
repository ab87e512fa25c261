//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestDemoRemovesItsServer runs the real binary and stops it early the four ways a user does: the reader of its
// output leaves (`pgtriage demo | head -2`: the next write meets a closed pipe), SIGHUP (the terminal closed),
// SIGTERM and Ctrl-C. Each time demo must not die of the signal, and its server must be gone with its files.
func TestDemoRemovesItsServer(t *testing.T) {
	bin := buildBinary(t)
	pgtest.Isolate(t)
	started := regexp.MustCompile(`\(throwaway, in (\S+)\)`)
	for _, stop := range []struct {
		name string
		sig  syscall.Signal // 0: close the pipe
	}{{"reader leaves", 0}, {"SIGHUP", syscall.SIGHUP}, {"SIGTERM", syscall.SIGTERM}, {"SIGINT", syscall.SIGINT}} {
		t.Run(stop.name, func(t *testing.T) {
			cmd := exec.Command(bin, "demo")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errOut strings.Builder
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(out)
			dir := ""
			for dir == "" {
				line, err := r.ReadString('\n')
				if err != nil {
					cmd.Wait()
					if strings.Contains(errOut.String(), "no PostgreSQL server binaries") && os.Getenv("CI") != "true" {
						t.Skip(errOut.String())
					}
					t.Fatalf("demo ended before starting its server: %v\n%s", err, errOut.String())
				}
				if m := started.FindStringSubmatch(line); m != nil {
					dir = m[1]
				}
			}
			pidText, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(strings.SplitN(string(pidText), "\n", 2)[0])
			if stop.sig == 0 {
				out.Close()
			} else {
				if err := cmd.Process.Signal(stop.sig); err != nil {
					t.Fatal(err)
				}
				go io.Copy(io.Discard, r)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
				t.Fatalf("demo died of %v instead of cleaning up; stderr:\n%s", ee.Sys().(syscall.WaitStatus).Signal(), errOut.String())
			}
			if err == nil || !strings.Contains(errOut.String(), "demo stopped") {
				t.Errorf("exit %v, want 1 with 'demo stopped'; stderr:\n%s", err, errOut.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s is still there (%v)", dir, err)
			}
			if pid <= 0 {
				t.Fatalf("no postmaster pid in %q", pidText)
			}
			// pg_ctl stop -w returns once postmaster.pid is gone; the process itself ends a moment later.
			pgtest.WaitFor(t, fmt.Sprintf("postmaster %d to exit", pid), func() bool {
				stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) || err == nil && strings.Contains(string(stat), ") Z ")
			})
		})
	}
}
