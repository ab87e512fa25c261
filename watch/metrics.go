package watch

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
)

// Metrics are the Prometheus metrics of a Watcher, named in blackbox_exporter's style with the target (and the
// cause, where there is one) as labels. Several watch processes may watch the same fleet: aggregate by target.
type Metrics struct {
	Registry *prometheus.Registry

	up, serverStart, inRecovery, certExpiry *prometheus.GaugeVec
	duration                                *prometheus.GaugeVec
	failures, poolerFailures                *prometheus.CounterVec
	outages, outageSeconds, escalations     *prometheus.CounterVec
	restarts, roleChanges, addressChanges   *prometheus.CounterVec
	idleCuts                                *prometheus.CounterVec
	dropped                                 prometheus.Counter
	own                                     []prometheus.Collector // the pgtriage_ metrics above
}

// NewMetrics registers the metrics, with the Go runtime's and the process's, in a registry of their own.
func NewMetrics() *Metrics {
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	c := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		Registry:       prometheus.NewRegistry(),
		up:             g("pgtriage_up", "1 when the target's held session and logins work, 0 during an outage.", "target"),
		duration:       g("pgtriage_probe_duration_seconds", "Duration of the last successful probe: the held session's empty query, or a fresh login.", "target", "probe"),
		failures:       c("pgtriage_probe_failures_total", "Failed probes by cause code.", "target", "probe", "cause"),
		poolerFailures: c("pgtriage_pooler_failures_total", "Failed probes whose cause a connection pooler named, by side: pooler (it refused the client) or server (the failure lies behind it).", "target", "probe", "side"),
		outages:        c("pgtriage_outages_total", "Outages that ended, by the cause most probes saw.", "target", "cause"),
		outageSeconds:  c("pgtriage_outage_seconds_total", "Seconds of the outages that ended, by cause.", "target", "cause"),
		escalations:    c("pgtriage_outages_escalated_total", "Outages that ended with the verdict escalate (longer than the escalation time, or too many within the window).", "target", "cause"),
		serverStart:    g("pgtriage_server_start_time_seconds", "pg_postmaster_start_time() as seconds since the epoch; time() minus it is the time since the last restart.", "target"),
		inRecovery:     g("pgtriage_server_in_recovery", "1 when the server is a standby (pg_is_in_recovery), 0 when a primary.", "target"),
		certExpiry:     g("pgtriage_tls_cert_expiry_timestamp_seconds", "NotAfter of the server certificate as seconds since the epoch.", "target"),
		restarts:       c("pgtriage_server_restarts_total", "Server restarts seen (pg_postmaster_start_time changed).", "target"),
		roleChanges:    c("pgtriage_server_role_changes_total", "Changes between primary and standby.", "target"),
		addressChanges: c("pgtriage_address_changes_total", "Changes of the addresses the target's host names resolve to.", "target"),
		idleCuts:       c("pgtriage_idle_cuts_total", "Idle sessions (--idle-probe) cut on the path while the target was up, by how: silent or reset.", "target", "kind"),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "pgtriage_watch_events_dropped_total",
			Help: "Events a sink (the event log, the terminal view) missed because it was blocked and its queue was full."}),
	}
	m.own = []prometheus.Collector{m.up, m.duration, m.failures, m.poolerFailures, m.outages, m.outageSeconds, m.escalations, m.serverStart,
		m.inRecovery, m.certExpiry, m.restarts, m.roleChanges, m.addressChanges, m.idleCuts, m.dropped}
	m.Registry.MustRegister(m.own...)
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics for a Prometheus scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// targetMetrics are one target's children, looked up once so that a probe touches no map.
type targetMetrics struct {
	name                                  string
	vecs                                  *Metrics
	up                                    prometheus.Gauge
	durations                             [2]prometheus.Gauge
	restarts, roleChanges, addressChanges prometheus.Counter
}

func (m *Metrics) forTarget(name string) targetMetrics {
	return targetMetrics{
		name: name, vecs: m,
		up:             m.up.WithLabelValues(name),
		durations:      [2]prometheus.Gauge{m.duration.WithLabelValues(name, eventlog.ProbeSession), m.duration.WithLabelValues(name, eventlog.ProbeLogin)},
		restarts:       m.restarts.WithLabelValues(name),
		roleChanges:    m.roleChanges.WithLabelValues(name),
		addressChanges: m.addressChanges.WithLabelValues(name),
	}
}

func (tm *targetMetrics) duration(kind string, d time.Duration) {
	tm.durations[kindIndex(kind)].Set(d.Seconds())
}

// serverStarted and role are set once the server's facts were read: a target that never connected has no such
// series, rather than a 0 that says "a primary started in 1970".
func (tm *targetMetrics) serverStarted(epoch float64) {
	tm.vecs.serverStart.WithLabelValues(tm.name).Set(epoch)
}

func (tm *targetMetrics) role(standby bool) {
	tm.vecs.inRecovery.WithLabelValues(tm.name).Set(b2f(standby))
}

// certExpiry is set once a certificate was seen: a target without TLS has no such series, rather than a 0 that an
// alert on the expiry would take for a certificate that expired in 1970.
func (tm *targetMetrics) certExpiry(notAfter time.Time) {
	tm.vecs.certExpiry.WithLabelValues(tm.name).Set(float64(notAfter.Unix()))
}

func (tm *targetMetrics) failure(kind string, code catalog.Code) {
	tm.vecs.failures.WithLabelValues(tm.name, kind, string(code)).Inc()
	if side := catalog.PoolerSide(code); side != "" {
		tm.vecs.poolerFailures.WithLabelValues(tm.name, kind, side).Inc()
	}
}

func (tm *targetMetrics) outageEnded(o *eventlog.Outage) {
	cause := string(o.Cause)
	tm.vecs.outages.WithLabelValues(tm.name, cause).Inc()
	tm.vecs.outageSeconds.WithLabelValues(tm.name, cause).Add(o.DurationSeconds)
	if o.Verdict == eventlog.VerdictEscalate {
		tm.vecs.escalations.WithLabelValues(tm.name, cause).Inc()
	}
}
