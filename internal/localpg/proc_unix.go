//go:build unix

package localpg

import (
	"io/fs"
	"os/exec"
	"syscall"
)

// serverUser is the account the server programs run as when the caller is root.
type serverUser struct{ uid, gid int }

const exeSuffix = ""

func runAs(cmd *exec.Cmd, u *serverUser) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}}
}

// baseEnv is the environment of a server program before its own settings.
func baseEnv(bindir string) []string {
	return []string{"PATH=" + bindir + ":/usr/bin:/bin"}
}

func fileOwner(info fs.FileInfo) int {
	return int(info.Sys().(*syscall.Stat_t).Uid)
}
