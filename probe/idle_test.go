package probe

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/settings"
)

// TestIdleCut finds idle cuts made by the kernel's connection tracking, silent and with a reset, at two different
// cuts, within 10% of the cut set, in little more than the cut.
func TestIdleCut(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	for _, tt := range []struct {
		cut   time.Duration
		reset bool
		kind  string
	}{
		{2 * time.Second, false, CutSilent},
		{4 * time.Second, true, CutReset},
	} {
		t.Run(fmt.Sprintf("%s %s", tt.cut, tt.kind), func(t *testing.T) {
			t.Parallel()
			via := pgtest.IdleCutPath(t, fmt.Sprintf("%s:%d", c.Host, c.Port), tt.cut, tt.reset)
			s, err := settings.Load(c.ConnString(fmt.Sprintf("host=%s", via.Addr()), fmt.Sprintf("port=%d", via.Port()),
				"user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable", "connect_timeout=5"))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r := FindIdleCut(ctx, s, IdleOptions{Max: 30 * time.Second})
			t.Logf("%+v", *r)
			if r.Error != "" || r.Kind != tt.kind || r.Diagnosis == nil || r.Diagnosis.Code != catalog.NetIdleCut {
				t.Fatalf("got kind %q, error %q, diagnosis %+v; want %s", r.Kind, r.Error, r.Diagnosis, tt.kind)
			}
			if rel := math.Abs(r.FigureSeconds-tt.cut.Seconds()) / tt.cut.Seconds(); rel > 0.10 {
				t.Errorf("figure %.3f s, set %s: off by %.1f%%", r.FigureSeconds, tt.cut, rel*100)
			}
			// The bounds themselves, with the few milliseconds between the finder's clock and the packets'.
			if slack := 0.02; r.SurvivedSeconds >= tt.cut.Seconds()+slack || r.CutSeconds < tt.cut.Seconds()-slack {
				t.Errorf("the cut %s is not between survived %.3f s and cut %.3f s", tt.cut, r.SurvivedSeconds, r.CutSeconds)
			}
			// Idle time spent: the longest idle tested is at most the ratio above the cut; add the answer deadline
			// of a silent cut and the logins.
			if longest := r.CutSeconds; longest > 1.15*tt.cut.Seconds()*1.05 {
				t.Errorf("tested an idle time of %.3f s for a cut of %s", longest, tt.cut)
			}
		})
	}
	t.Run("no cut up to max", func(t *testing.T) {
		t.Parallel()
		s, err := settings.Load(c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"))
		if err != nil {
			t.Fatal(err)
		}
		r := FindIdleCut(context.Background(), s, IdleOptions{Max: 3 * time.Second, Sessions: 4})
		if r.Kind != CutNone || r.SurvivedSeconds < 3 || r.Diagnosis != nil || r.Error != "" {
			t.Errorf("loopback path: %+v", *r)
		}
	})
}

// TestIdleCutThroughProxy finds the cut of faultproxy's idle_cut fault, silent and with a reset.
func TestIdleCutThroughProxy(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	for _, tt := range []struct {
		idle time.Duration
		mode faultproxy.IdleMode
		kind string
	}{
		{1500 * time.Millisecond, faultproxy.IdleSilent, CutSilent},
		{2500 * time.Millisecond, faultproxy.IdleReset, CutReset},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p, err := faultproxy.Start(ctx, faultproxy.Config{Upstream: fmt.Sprintf("%s:%d", c.Host, c.Port)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if _, err := p.Add(faultproxy.Fault{Kind: faultproxy.KindIdleCut, Idle: faultproxy.Duration(tt.idle), Mode: tt.mode}); err != nil {
				t.Fatal(err)
			}
			host, port, _ := strings.Cut(p.Addr(), ":")
			s, err := settings.Load(c.ConnString("host="+host, "port="+port, "user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"))
			if err != nil {
				t.Fatal(err)
			}
			r := FindIdleCut(ctx, s, IdleOptions{Max: 20 * time.Second, Sessions: 8})
			if r.Kind != tt.kind || r.Error != "" {
				t.Fatalf("got %q (%s), want %s: %+v", r.Kind, r.Error, tt.kind, r.Probes)
			}
			if rel := math.Abs(r.FigureSeconds-tt.idle.Seconds()) / tt.idle.Seconds(); rel > 0.10 {
				t.Errorf("figure %.3f s for an idle_cut of %s: off by %.1f%%", r.FigureSeconds, tt.idle, rel*100)
			}
		})
	}
}
