//go:build !linux

package pgtest

import "os/exec"

// dieWithParent needs Linux's Pdeathsig; elsewhere a killed test binary leaves its PgBouncer to the test's cleanup.
func dieWithParent(*exec.Cmd) {}
