package watch

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestProbeHandler scrapes /probe for targets of a real server (healthy, wrong password from the passfile), a
// refused port and a silent listener bounded by the scrape-timeout header, and parses the exposition.
func TestProbeHandler(t *testing.T) {
	pgtest.Isolate(t)
	const password = "probe-secret-52"
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: password}}})
	dir := t.TempDir()
	passfile := func(name, pw string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, fmt.Appendf(nil, "*:*:*:app:%s\n", pw), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := passfile("good", password), passfile("bad", "not-the-password")
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedPort := refused.Addr().(*net.TCPAddr).Port
	refused.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts (the kernel does) and never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	conn := func(port int, pf string) string {
		return fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=postgres sslmode=disable passfile=%s", port, pf)
	}
	var targets []Target
	for _, tc := range []struct{ name, conn string }{
		{"healthy", conn(c.Port, good)},
		{"wrong-password", conn(c.Port, bad)},
		{"refused", conn(refusedPort, good)},
		{"silent", conn(silent.Addr().(*net.TCPAddr).Port, good)},
	} {
		tg, err := LoadTarget(tc.conn)
		if err != nil {
			t.Fatal(err)
		}
		tg.Name = tc.name
		targets = append(targets, tg)
	}
	srv := httptest.NewServer(ProbeHandler(targets, map[string]Module{"quick": {Timeout: 5e9}}, nil))
	defer srv.Close()

	scrape := func(query string, header string) (int, map[string]*dto.MetricFamily, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/probe?"+query, nil)
		if header != "" {
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b := new(strings.Builder)
			_, _ = fmt.Fprint(b, resp.Status)
			return resp.StatusCode, nil, b.String()
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return resp.StatusCode, fams, ""
	}
	diagnosis := func(fams map[string]*dto.MetricFamily) map[string]string {
		f := fams["pgtriage_probe_diagnosis"]
		if f == nil || len(f.Metric) != 1 || f.Metric[0].GetGauge().GetValue() != 1 {
			t.Fatalf("pgtriage_probe_diagnosis: %v", f)
		}
		l := map[string]string{}
		for _, lp := range f.Metric[0].Label {
			l[lp.GetName()] = lp.GetValue()
		}
		return l
	}
	for _, tc := range []struct {
		query, header      string
		success            float64
		code, transient    string
		wantStage          string
		maxDurationSeconds float64
	}{
		{"target=healthy", "", 1, "ok", "false", "startup", 60},
		{"target=healthy&module=quick", "", 1, "ok", "false", "startup", 60},
		{"target=wrong-password", "", 0, "auth.password_failed", "false", "startup", 60},
		{"target=refused", "", 0, "tcp.refused", "", "tcp", 60},
		// 2 s less blackbox's 0.5 s offset: the check gives up well before probe.DefaultTimeout.
		{"target=silent", "2", 0, "server.unresponsive", "", "startup", 9},
	} {
		st, fams, body := scrape(tc.query, tc.header)
		if st != http.StatusOK {
			t.Errorf("%s: %d %s", tc.query, st, body)
			continue
		}
		if v := fams["probe_success"].GetMetric()[0].GetGauge().GetValue(); v != tc.success {
			t.Errorf("%s: probe_success %v, want %v", tc.query, v, tc.success)
		}
		if d := fams["probe_duration_seconds"].GetMetric()[0].GetGauge().GetValue(); d <= 0 || d > tc.maxDurationSeconds {
			t.Errorf("%s: probe_duration_seconds %v, want in (0, %v]", tc.query, d, tc.maxDurationSeconds)
		}
		l := diagnosis(fams)
		if l["code"] != tc.code || (tc.transient != "" && l["transient"] != tc.transient) || l["category"] == "" {
			t.Errorf("%s: diagnosis labels %v, want code %s transient %s", tc.query, l, tc.code, tc.transient)
		}
		stages := map[string]bool{}
		for _, m := range fams["pgtriage_probe_stage_duration_seconds"].GetMetric() {
			for _, lp := range m.Label {
				if lp.GetName() == "stage" {
					stages[lp.GetValue()] = true
				}
			}
		}
		if !stages[tc.wantStage] {
			t.Errorf("%s: no stage %s among %v", tc.query, tc.wantStage, stages)
		}
	}
	for _, tc := range []struct {
		query, header string
		status        int
	}{
		{"", "", http.StatusBadRequest},
		{"target=nope", "", http.StatusNotFound},
		{"target=host%3D127.0.0.1", "", http.StatusNotFound},
		{"target=healthy&module=nope", "", http.StatusBadRequest},
		{"target=healthy", "soon", http.StatusBadRequest},
	} {
		if st, _, _ := scrape(tc.query, tc.header); st != tc.status {
			t.Errorf("%q: status %d, want %d", tc.query, st, tc.status)
		}
	}
}
