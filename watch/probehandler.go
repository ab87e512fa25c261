package watch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgtriage/pgtriage/probe"
)

// Module is a way of probing, chosen by /probe's module parameter as in blackbox_exporter. The config file names
// them; "default" always exists.
type Module struct {
	// Timeout bounds one check (default: the target's connect_timeout, or probe.DefaultTimeout); a scrape's own
	// timeout bounds it further.
	Timeout time.Duration `yaml:"timeout"`
}

// scrapeTimeoutOffset is taken off Prometheus's scrape timeout so that the answer is back before Prometheus gives
// up, as blackbox_exporter's --timeout-offset (same default).
const scrapeTimeoutOffset = 500 * time.Millisecond

// ProbeHandler serves /probe?target=NAME&module=M in blackbox_exporter's style: one check of the named target per
// request, its results in a registry of their own. Targets are only those given (their credentials come from
// their settings: a passfile, never the URL); an unknown target is 404, an unknown module 400.
func ProbeHandler(targets []Target, modules map[string]Module, resolver *net.Resolver) http.Handler {
	byName := make(map[string]Target, len(targets))
	for _, t := range targets {
		if t.Name == "" {
			t.Name = t.Settings.Target()
		}
		byName[t.Name] = t
	}
	if _, ok := modules["default"]; !ok {
		m := make(map[string]Module, len(modules)+1)
		for k, v := range modules {
			m[k] = v
		}
		m["default"] = Module{}
		modules = m
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		name := q.Get("target")
		if name == "" {
			http.Error(w, "target parameter is missing", http.StatusBadRequest)
			return
		}
		t, ok := byName[name]
		if !ok {
			// The name is not echoed: it comes from the request.
			http.Error(w, "unknown target: /probe checks only the targets of the config file", http.StatusNotFound)
			return
		}
		modName := q.Get("module")
		if modName == "" {
			modName = "default"
		}
		mod, ok := modules[modName]
		if !ok {
			http.Error(w, "unknown module", http.StatusBadRequest)
			return
		}
		timeout, err := probeTimeout(r, mod, t)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		s := *t.Settings
		s.ConnectTimeout = timeout // each stage's deadline, so that the whole check ends within the scrape's
		start := time.Now()
		rep := probe.Run(ctx, &s, probe.Options{Resolver: resolver})
		promhttp.HandlerFor(probeRegistry(rep, time.Since(start)), promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
}

// probeTimeout is the module's timeout (or the target's), lowered to the scrape's timeout less the offset.
func probeTimeout(r *http.Request, mod Module, t Target) (time.Duration, error) {
	timeout := mod.Timeout
	if timeout <= 0 {
		timeout = probe.TimeoutFor(t.Settings)
	}
	if h := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); h != "" {
		secs, err := strconv.ParseFloat(h, 64)
		if err != nil || secs <= 0 || secs > 86400 {
			return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds: %q is not a number of seconds", h)
		}
		scrape := time.Duration(secs*float64(time.Second)) - scrapeTimeoutOffset
		if scrape < 100*time.Millisecond {
			scrape = 100 * time.Millisecond
		}
		timeout = min(timeout, scrape)
	}
	return timeout, nil
}

// probeRegistry holds one check's results: blackbox_exporter's probe_success and probe_duration_seconds, each
// stage's duration, and the verdict's code, category and transient flag as the labels of a gauge set to 1.
func probeRegistry(rep *probe.Report, took time.Duration) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	success := prometheus.NewGauge(prometheus.GaugeOpts{Name: "probe_success", Help: "1 when the check connected, else 0."})
	duration := prometheus.NewGauge(prometheus.GaugeOpts{Name: "probe_duration_seconds", Help: "How long the check took."})
	stages := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pgtriage_probe_stage_duration_seconds",
		Help: "Duration of each stage of the check (dns, tcp, tls, startup, ...), by address where there are several."}, []string{"stage", "address"})
	verdict := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pgtriage_probe_diagnosis",
		Help: "The check's verdict: its cause code, category and whether it is transient, as labels; always 1."}, []string{"code", "category", "transient"})
	reg.MustRegister(success, duration, stages, verdict)
	if rep.Status == probe.StatusOK {
		success.Set(1)
	}
	duration.Set(took.Seconds())
	for _, st := range rep.Stages {
		stages.WithLabelValues(string(st.Name), st.Address).Set(st.DurationMS / 1000)
	}
	d := rep.Diagnosis
	verdict.WithLabelValues(string(d.Code), string(d.Category), strconv.FormatBool(d.Transient)).Set(1)
	return reg
}
