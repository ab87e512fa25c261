package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pgtriage/pgtriage/probe"
)

// openPTY gives the terminal side of a new pseudo-terminal, so that the colour rule can be tested on a real terminal.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	tty := openPTY(t)
	if !useColor(tty) {
		t.Error("a terminal without NO_COLOR should get colour")
	}
	_, pipe, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	if useColor(&bytes.Buffer{}) || useColor(pipe) {
		t.Error("a pipe or buffer must not get colour")
	}
	t.Setenv("NO_COLOR", "1")
	if useColor(tty) {
		t.Error("NO_COLOR must turn colour off, even on a terminal")
	}
	var b strings.Builder
	r := probe.Invalid("x", fmt.Errorf("bad"))
	r.WriteText(&b, probe.TextOptions{Color: true})
	if !strings.Contains(b.String(), "\x1b[31m") {
		t.Errorf("colour asked for but none written:\n%q", b.String())
	}
}
