//go:build unix

package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// sweep removes the clusters of processes that died without cleaning up (go test -timeout kills a test binary
// without running its cleanups; a demo may be killed), so that their servers do not pile up on the machine.
var sweep = sync.OnceFunc(func() {
	srv, err := findServer()
	if err != nil {
		return
	}
	srv.sweep(os.TempDir())
})

// sweep closes the leftover clusters in tmp.
func (s *server) sweep(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, dir := range dirs {
		if !s.leftover(dir) {
			continue
		}
		c := &Cluster{Dir: dir, srv: s, data: filepath.Join(dir, "data")}
		c.Close() // best effort: a failure here is not this caller's
	}
}

// leftover tells whether dir is a cluster directory that this user made and whose maker has died. The temporary
// directory is shared, and anyone can make a localpg-* directory with files that name any process; so only what
// another user cannot forge counts: the directory itself (not a link) belongs to this user or to the server user
// and is closed to everyone else, and the owner file is a regular file of this user with one link. Whatever the
// files inside say, Close then stops only a verified postmaster of the directory.
func (s *server) leftover(dir string) bool {
	if !s.owns(dir) {
		return false
	}
	owner := filepath.Join(dir, ownerFile)
	before, err := os.Lstat(owner)
	if err != nil || !before.Mode().IsRegular() || before.Mode().Perm()&0o022 != 0 {
		return false
	}
	if st, ok := before.Sys().(*syscall.Stat_t); !ok || st.Uid != uint32(os.Geteuid()) || st.Nlink != 1 {
		return false
	}
	f, err := os.Open(owner)
	if err != nil {
		return false
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil || !os.SameFile(before, after) { // replaced between the two looks
		return false
	}
	b := make([]byte, 32)
	n, _ := f.Read(b)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	// A pid reused since only delays the sweep.
	return err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// owns tells whether dir is a directory, not a link, of this user or the server user, that no one else may write.
func (s *server) owns(dir string) bool {
	info, err := os.Lstat(dir)
	if err != nil || !info.IsDir() || info.Mode().Perm()&0o077 != 0 {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && (st.Uid == uint32(os.Geteuid()) || st.Uid == s.uid())
}

// uid is the user the server runs as.
func (s *server) uid() uint32 {
	if s.cred != nil {
		return uint32(s.cred.uid)
	}
	return uint32(os.Geteuid())
}

// postmaster returns the pid in the first line of data's postmaster.pid if, and only if, that process is a
// postmaster of data: it runs as the server user, its program is this server's postgres, its arguments name data
// with -D and its working directory is data. Without /proc (not Linux) nothing can be verified, and the answer is no.
func (s *server) postmaster(data string) (int, bool) {
	pid, ok := pidFileSays(data)
	if !ok {
		return 0, false
	}
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	info, err := os.Stat(proc)
	if st, ok := sysStat(info, err); !ok || st.Uid != s.uid() {
		return 0, false
	}
	if !sameFile(filepath.Join(proc, "exe"), filepath.Join(s.bindir, "postgres")) || !sameFile(filepath.Join(proc, "cwd"), data) {
		return 0, false
	}
	cmdline, err := os.ReadFile(filepath.Join(proc, "cmdline"))
	if err != nil {
		return 0, false
	}
	return pid, bytes.Contains(append([]byte{0}, cmdline...), []byte("\x00-D\x00"+data+"\x00"))
}

func sysStat(info fs.FileInfo, err error) (*syscall.Stat_t, bool) {
	if err != nil {
		return nil, false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return st, ok
}

// sameFile tells whether both paths lead to one file.
func sameFile(a, b string) bool {
	ai, err := os.Stat(a)
	if err != nil {
		return false
	}
	bi, err := os.Stat(b)
	return err == nil && os.SameFile(ai, bi)
}

// kill is the last resort when pg_ctl could not stop a verified postmaster. The signal goes as the server user,
// never as root: the kernel then refuses it for any process that is not the server's.
func (s *server) kill(ctx context.Context, pid int) error {
	err := s.run(ctx, "/", "/bin/sh", "-c", `kill -9 "$1"`, "kill", strconv.Itoa(pid))
	if err != nil && !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return fmt.Errorf("kill postmaster %d: %w", pid, err)
	}
	return nil
}
