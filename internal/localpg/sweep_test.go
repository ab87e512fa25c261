//go:build unix

package localpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func testServer(t *testing.T) *server {
	t.Helper()
	srv, err := findServer()
	if errors.Is(err, ErrNoServer) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// startCluster starts a cluster for the test and returns it with its postmaster's pid.
func startCluster(t *testing.T, srv *server) (*Cluster, int) {
	t.Helper()
	c, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pid, ok := srv.postmaster(c.data)
	if !ok {
		t.Fatal("the postmaster of a running cluster is not recognised")
	}
	return c, pid
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// gone waits until the process has exited; the deadline only bounds the wait.
func gone(pid int) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return true
		}
	}
	return false
}

// TestSweepForgedDirectories: another user's localpg-* directories, a link to a directory of ours, a directory of
// ours that others may write, and a real leftover of ours whose postmaster.pid names another process: none of them
// gets a process stopped or killed, neither a postmaster of another cluster nor a process of root.
func TestSweepForgedDirectories(t *testing.T) {
	srv := testServer(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("forging directories as another user needs root (CI=true: CI runs as root)")
		}
		t.Skip("forging directories as another user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)

	other, otherPid := startCluster(t, srv)
	sleeper := exec.Command("sleep", "600") // a process of root
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { sleeper.Wait(); close(exited) }()
	t.Cleanup(func() { sleeper.Process.Kill(); <-exited })

	tmp, err := os.MkdirTemp("", "sweeptest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o1777); err != nil { // shared like /tmp
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	dead := deadPid(t)

	var script strings.Builder
	script.WriteString("set -e\n")
	var keep, removed []string
	for _, victim := range []int{otherPid, sleeper.Process.Pid} {
		// Another user's directory, made just like ours.
		forged := filepath.Join(tmp, fmt.Sprintf("localpg-nobody-%d", victim))
		fmt.Fprintf(&script, "mkdir -m 700 %[1]s %[1]s/data\necho %[2]d > %[1]s/owner.pid\nprintf '%[3]d\\n%[1]s/data\\n' > %[1]s/data/postmaster.pid\n", forged, dead, victim)
		// Another user's link to a directory of ours that looks like a leftover.
		target := filepath.Join(elsewhere, strconv.Itoa(victim))
		leftover(t, srv, target, dead, victim)
		fmt.Fprintf(&script, "ln -s %s %s\n", target, filepath.Join(tmp, fmt.Sprintf("localpg-link-%d", victim)))
		// Ours, but open to everyone.
		open := filepath.Join(tmp, fmt.Sprintf("localpg-open-%d", victim))
		leftover(t, srv, open, dead, victim)
		if err := os.Chmod(open, 0o777); err != nil {
			t.Fatal(err)
		}
		// Ours, really left over, but its postmaster.pid names a process that is not its postmaster.
		stale := filepath.Join(tmp, fmt.Sprintf("localpg-stale-%d", victim))
		leftover(t, srv, stale, dead, victim)
		keep = append(keep, forged, target, open)
		removed = append(removed, stale)
	}
	cmd := exec.Command("/bin/sh", "-c", script.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("forge as nobody: %v\n%s", err, out)
	}

	srv.sweep(tmp)

	select {
	case <-exited:
		t.Errorf("root's process was killed")
	default:
	}
	if err := other.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Errorf("the other cluster was stopped: %v", err)
	}
	for _, dir := range keep {
		if _, err := os.Lstat(dir); err != nil {
			t.Errorf("%s: %v, want it left alone", dir, err)
		}
	}
	for _, dir := range removed {
		if _, err := os.Lstat(dir); err == nil {
			t.Errorf("%s is still there, want a leftover of ours removed", dir)
		}
	}
}

// leftover makes dir as Start does, for a maker that has died, with a postmaster.pid naming pid.
func leftover(t *testing.T, srv *server, dir string, owner, pid int) {
	t.Helper()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(owner)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := srv.writeFile(filepath.Join(data, "postmaster.pid"), fmt.Appendf(nil, "%d\n%s\n", pid, data), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{data, dir} {
		if err := srv.own(d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSweepLeftover: the cluster of a process that died is stopped and removed.
func TestSweepLeftover(t *testing.T) {
	srv := testServer(t)
	c, pid := startCluster(t, srv)
	if err := os.WriteFile(filepath.Join(c.Dir, ownerFile), []byte(strconv.Itoa(deadPid(t))), 0o644); err != nil {
		t.Fatal(err)
	}

	srv.sweep(filepath.Dir(c.Dir))

	if _, err := os.Lstat(c.Dir); err == nil {
		t.Errorf("%s is still there", c.Dir)
	}
	if !gone(pid) {
		t.Errorf("postmaster %d still runs", pid)
	}
}
