package main

import (
	"testing"

	"github.com/pgtriage/pgtriage/examples/internal/exampletest"
)

// The example against a real server that restarts (fast) while it writes: every order is there once.
func TestRunAcrossARestart(t *testing.T) { exampletest.RunAcrossARestart(t, run) }
