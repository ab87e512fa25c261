package faultproxy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
)

// TestBuiltinScenarios: every built-in parses, lasts, and ends with no fault in force (plan checks that).
func TestBuiltinScenarios(t *testing.T) {
	want := []string{"connection-storm", "failover", "firewall", "flaky", "maintenance", "scale", "slow"}
	if got := faultproxy.Builtins(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("built-ins %v, want %v", got, want)
	}
	for _, name := range want {
		s, err := faultproxy.Builtin(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if s.Name != name || s.Description == "" || s.Duration() < 5*time.Second || s.Duration() > time.Minute {
			t.Errorf("%s: name %q, description %q, duration %s", name, s.Name, s.Description, s.Duration())
		}
		src, ok := faultproxy.BuiltinSource(name)
		if !ok || !strings.HasPrefix(string(src), "# ") {
			t.Errorf("%s: the source should open with a comment that says what it stands for:\n%s", name, src)
		}
	}
	if _, err := faultproxy.Builtin("failvoer"); err == nil || !strings.Contains(err.Error(), "built in: connection-storm, failover") {
		t.Errorf("unknown built-in: %v", err)
	}
}

// TestScenarioErrors: each file under testdata/scenarios/bad says on its first line the error it must give.
func TestScenarioErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/scenarios/bad/*.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d bad scenarios", len(files))
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		want, ok := strings.CutPrefix(first, "# want: ")
		if !ok {
			t.Fatalf("%s: first line must be # want: ERROR", file)
		}
		_, err = faultproxy.ParseScenario(filepath.Base(file), data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got  %v\n want %s", file, err, want)
		}
	}
}

// TestScenarioFormat: a file with every kind of step, and the timeline it compiles to.
func TestScenarioFormat(t *testing.T) {
	src := `
name: custom
description: a bit of everything
steps:
  - at: 0s
    note: first
    add:
      - {id: down, kind: refuse}
      - {kind: terminate, cause: "57P02"}
      - {kind: error, cause: limits.too_many_connections, share: 0.5}
    for: 2s
  - at: 2s
    add: [{id: slow, kind: latency, delay: 250ms}]
  - at: 3.5s
    remove: [slow]
`
	s, err := faultproxy.ParseScenario("custom.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration() != 3500*time.Millisecond {
		t.Errorf("duration %s", s.Duration())
	}
	ids := []string{s.Steps[0].Add[0].ID, s.Steps[0].Add[1].ID, s.Steps[0].Add[2].ID}
	if strings.Join(ids, ",") != "down,terminate-1,error-1" {
		t.Errorf("ids %v", ids)
	}
	if f := s.Steps[1].Add[0]; f.Kind != faultproxy.KindLatency || time.Duration(f.Delay) != 250*time.Millisecond {
		t.Errorf("latency fault %+v", f)
	}
	// The same file as JSON is accepted too.
	js := `{"name": "j", "steps": [{"at": "0s", "add": [{"kind": "blackhole"}], "for": "1s"}]}`
	if s, err := faultproxy.ParseScenario("j.json", []byte(js)); err != nil || s.Steps[0].Add[0].Kind != faultproxy.KindBlackhole {
		t.Errorf("JSON: %v", err)
	}
}

// FuzzParseScenario: no input makes the parser panic; whatever parses validates.
func FuzzParseScenario(f *testing.F) {
	for _, name := range faultproxy.Builtins() {
		src, _ := faultproxy.BuiltinSource(name)
		f.Add(src)
	}
	files, _ := filepath.Glob("testdata/scenarios/bad/*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := faultproxy.ParseScenario("fuzz.yaml", data)
		if err == nil {
			if err := s.Validate(); err != nil {
				t.Fatalf("parsed but does not validate: %v", err)
			}
		}
	})
}
