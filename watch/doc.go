// Package watch watches many PostgreSQL targets over time and turns their failures into outages with a verdict:
// transient (wait it out) or escalate (it lasted more than a minute, or keeps coming back).
//
// One check cannot see a transient error: it is short-lived or intermittent. A Watcher keeps two probes on each
// target:
//
//   - a held session: one connection kept open, an empty query (";") every interval, and a read always pending in
//     between, so that a session the server ends (57P01 at a fast shutdown, a warning and a closed socket at an
//     immediate one) is seen at once, not at the next poll;
//   - a fresh login every few intervals, so that failures on the connect path (firewall, credentials, TLS,
//     connection limits) are seen too while the held session carries on.
//
// Every failure is classified through package catalog. An outage starts at the first failure and ends at the first
// success, retried every RetryInterval in between so that its duration is measured finely; when it ends its verdict
// and the catalog's next steps are recorded. The layered diagnosis of probe.Run is taken once at the start of each
// outage, not on every probe, because it costs several connections. Server restarts (pg_postmaster_start_time),
// address changes behind DNS, role changes (standby or primary) and certificate changes are events too.
//
// # Start
//
//	s, _ := settings.Load("host=db.example.com user=monitor dbname=postgres")
//	log, hist, _ := watch.OpenLog("events.jsonl")       // continues an existing log
//	m := watch.NewMetrics()                              // serve m.Handler() for Prometheus
//	w, _ := watch.New([]watch.Target{{Settings: s}}, watch.Options{History: hist, Metrics: m, Sinks: []watch.Sink{log}})
//	err := w.Run(ctx)                                    // until ctx is done
//	log.Close()
//
// The event log (package eventlog) is JSON Lines, one event a line, appended with one write each (so a crash loses
// no event that was written) and synced to disk every second and at Close. OpenLog reads it back: open outages, the outages of the
// escalation window and the last server facts continue where the previous process stopped.
package watch
