//go:build !linux

package main

import (
	"os"
	"testing"
)

// openPTY: the tests open pseudo-terminals through Linux's /dev/ptmx ioctls.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	t.Skip("the pseudo-terminal tests are Linux-only")
	return nil
}
