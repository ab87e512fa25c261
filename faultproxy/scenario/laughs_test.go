package scenario_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/pgtriage/pgtriage/faultproxy/scenario"
)

// laughs is a billion laughs built of scalar aliases, which yaml.v3's alias guard lets through (an alias of a
// scalar counts as one node): a long scalar, and a fault value that is a list of aliases to it.
func laughs(size, aliases int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: laughs\nsteps:\n  - at: 0s\n    add:\n      - kind: error\n        cause: &lol %s\n", strings.Repeat("l", size))
	fmt.Fprintf(&b, "        direction: [%s]\n", strings.TrimSuffix(strings.Repeat("*lol, ", aliases), ", "))
	return b.String()
}

// TestScenarioScalarAliases: anchors and aliases are refused before anything expands them; the parse costs little
// memory whatever the aliases would expand to.
func TestScenarioScalarAliases(t *testing.T) {
	src := laughs(32<<10, 2000) // 38 KB of YAML that expand to 64 MB
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := scenario.Parse("laughs.yaml", []byte(src))
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	msg := fmt.Sprint(err)
	t.Logf("%d bytes of YAML: %d MB allocated, %.200s", len(src), alloc>>20, msg)
	if !strings.Contains(msg, "laughs.yaml:6: ") || !strings.Contains(msg, "anchors and aliases") {
		t.Errorf("err = %.200s, want anchors and aliases refused, with the line", msg)
	}
	if alloc > 16<<20 {
		t.Errorf("%d MB allocated to parse %d bytes", alloc>>20, len(src))
	}
}

// TestScenarioLargestFile: a file of the largest size, all short values, parses in bounded memory; one byte more is
// refused before parsing.
func TestScenarioLargestFile(t *testing.T) {
	head := "name: big\nsteps:\n  - at: 0s\n    remove: ["
	src := head + strings.Repeat("a,", (scenario.MaxFileSize-len(head)-1)/2) + "]"
	src += strings.Repeat(" ", scenario.MaxFileSize-len(src))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := scenario.Parse("big.yaml", []byte(src))
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d bytes: %d MB allocated, %.100v", len(src), alloc>>20, err)
	if err == nil || alloc > 64<<20 {
		t.Errorf("%d MB allocated, err %.100v; want an error (remove of faults never added) in less than 64 MB", alloc>>20, err)
	}
	if _, err := scenario.Parse("big.yaml", []byte(src+" ")); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("one byte more: %.100v", err)
	}
}
