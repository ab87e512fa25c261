package localpg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
)

// serverUser is never set on Windows: there is no root, and PostgreSQL runs
// as the user who starts it (pg_ctl drops administrator rights itself).
type serverUser struct{ uid, gid int }

const exeSuffix = ".exe"

func runAs(*exec.Cmd, *serverUser) {}

// baseEnv keeps SystemRoot, without which Windows programs cannot start.
func baseEnv(bindir string) []string {
	root := os.Getenv("SystemRoot")
	return []string{"SystemRoot=" + root, "PATH=" + bindir + ";" + root + `\System32`}
}

func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil // gone already
	}
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill postmaster %d: %w", pid, err)
	}
	return nil
}

// fileOwner: Windows files have no uid; directories in the user's own
// temporary directory (not shared as /tmp is) count as the caller's.
func fileOwner(fs.FileInfo) int { return os.Geteuid() }
