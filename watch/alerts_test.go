package watch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// metricNames are the names of the pgtriage_ metrics, from their descriptions.
func metricNames(m *Metrics) []string {
	ch := make(chan *prometheus.Desc, 64)
	for _, c := range m.own {
		c.Describe(ch)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for d := range ch {
		if s := fq.FindStringSubmatch(d.String()); s != nil {
			names = append(names, s[1])
		}
	}
	return names
}

// TestAlertRules checks the example alerting rules: every rule is complete and names only metrics that watch
// exports, and promtool (Debian's prometheus package) finds the file valid and passes its unit tests, which fire
// each kind of alert on series like the ones watch exports.
func TestAlertRules(t *testing.T) {
	dir := filepath.Join("..", "examples", "prometheus")
	b, err := os.ReadFile(filepath.Join(dir, "pgtriage-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For string
				Labels           map[string]string
				Annotations      map[string]string
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("not YAML of rule groups: %v", err)
	}
	names := metricNames(NewMetrics())
	used := regexp.MustCompile(`\bpgtriage_[a-z_]+`)
	rules := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q lacks alert, expr, a severity or a summary", r.Alert)
			}
			for _, name := range used.FindAllString(r.Expr, -1) {
				if !slices.Contains(names, name) {
					t.Errorf("rule %s uses %s, which watch does not export (it exports %v)", r.Alert, name, names)
				}
			}
		}
	}
	if rules < 5 {
		t.Errorf("%d rules", rules)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is missing (.ci/run installs Debian's prometheus package)")
		}
		t.Skip("promtool is missing (apt-get install prometheus): the rules were parsed, not checked by Prometheus")
	}
	for _, args := range [][]string{{"check", "rules", "pgtriage-alerts.yml"}, {"test", "rules", "pgtriage-alerts.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
