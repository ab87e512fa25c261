package watch_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/probe"
	"github.com/pgtriage/pgtriage/watch"
)

// TestSameCodeAsCheck runs watch and check (probe.Run) against the failures of check's matrix that watch meets from
// the start: the outage's first code and the failure metric's cause label must be check's verdict.
func TestSameCodeAsCheck(t *testing.T) {
	pgtest.Isolate(t)
	c := appCluster(t, pgtest.Options{})
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedPort := refused.Addr().(*net.TCPAddr).Port
	refused.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // the kernel accepts; nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cases := []struct{ name, conn string }{
		{"refused", fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=postgres sslmode=disable connect_timeout=2", refusedPort)},
		{"silent", fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=postgres sslmode=disable connect_timeout=2", silent.Addr().(*net.TCPAddr).Port)},
		{"wrong-password", c.ConnString("user=app", "password=wrong", "dbname=postgres", "connect_timeout=5")},
		{"no-database", c.ConnString("user=app", "password="+appPassword, "dbname=nosuchdb", "connect_timeout=5")},
		{"no-role", c.ConnString("user=nosuchrole", "password="+appPassword, "dbname=postgres", "connect_timeout=5")},
	}
	want := map[string]catalog.Code{}
	var targets []watch.Target
	for _, tc := range cases {
		tg := target(t, tc.conn)
		tg.Name = tc.name
		targets = append(targets, tg)
		want[tc.name] = probe.Run(context.Background(), tg.Settings, probe.Options{}).Diagnosis.Code
	}
	if want["silent"] != catalog.ServerUnresponsive || want["refused"] != catalog.TCPRefused {
		t.Fatalf("check's verdicts are not the expected ones: %v", want)
	}
	opts := fast()
	opts.Metrics = watch.NewMetrics()
	_, rec := run(t, targets, opts)
	for _, tc := range cases {
		ev, _ := rec.waitFor(t, 0, "outage_start of "+tc.name, func(ev eventlog.Event) bool {
			return ev.Type == eventlog.EventOutageStart && ev.Target == tc.name
		})
		if ev.Code != want[tc.name] {
			t.Errorf("%s: watch says %s, check says %s (%s)", tc.name, ev.Code, want[tc.name], ev.Evidence)
		}
	}
	fams, err := opts.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "pgtriage_probe_failures_total" {
			continue
		}
		for _, m := range f.Metric {
			l := map[string]string{}
			for _, lp := range m.Label {
				l[lp.GetName()] = lp.GetValue()
			}
			if w, ok := want[l["target"]]; ok && l["cause"] != string(w) {
				t.Errorf("%s: pgtriage_probe_failures_total{probe=%s} has cause %s, check says %s", l["target"], l["probe"], l["cause"], w)
			}
		}
	}
}
