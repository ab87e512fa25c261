package watch_test

import (
	"io"
	"maps"
	"net/http/httptest"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pgtriage/pgtriage/watch"
)

// scraped is one scrape of the metrics handler, parsed as Prometheus parses it.
type scraped map[string]*dto.MetricFamily

func scrape(t *testing.T, m *watch.Metrics) scraped {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the metrics do not parse: %v", err)
	}
	return fams
}

// value returns the value of the series with exactly these labels; ok is false when there is none.
func (s scraped) value(name string, labels map[string]string) (v float64, ok bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, lp := range m.Label {
			got[lp.GetName()] = lp.GetValue()
		}
		if !maps.Equal(got, labels) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

// sum adds up the series of a metric for one target, whatever their other labels.
func (s scraped) sum(name, target string) float64 {
	total := 0.0
	if f := s[name]; f != nil {
		for _, m := range f.Metric {
			for _, lp := range m.Label {
				if lp.GetName() == "target" && lp.GetValue() == target {
					total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return total
}

// expfmtDump writes the scrape back in the text format, to look for what must not be there.
func expfmtDump(w io.Writer, s scraped) {
	for _, f := range s {
		_, _ = expfmt.MetricFamilyToText(w, f)
	}
}
