package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/probe"
)

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
