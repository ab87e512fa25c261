//go:build unix

package pgtest

import (
	"os/exec"
	"syscall"
)

// runAs starts cmd as another user (root starts PgBouncer as postgres, which refuses to run as root).
func runAs(cmd *exec.Cmd, uid, gid int) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
