package pgtest

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, or fails the test after a minute: tests wait for what they need, not for a
// fixed time, so that they pass on a loaded machine.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
