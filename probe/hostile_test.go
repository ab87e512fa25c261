package probe

import (
	"fmt"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestHostileServers: a server that floods the client, or sends a message of a gigabyte, or breaks the SCRAM
// exchange, is named as misbehaving, in both TLS modes that reach the startup, and with or without the trace. (What
// each costs in memory and time is measured by cmd/pgtriage's BenchmarkHostileServers; connect_timeout is long here
// so that a loaded machine still reaches a limit before the deadline.)
func TestHostileServers(t *testing.T) {
	pgtest.Isolate(t)
	for _, tc := range []struct {
		how   pgtest.Hostile
		extra string
		stage StageName
	}{
		{pgtest.EndlessNotices, "", StageStartup},
		{pgtest.EndlessParameters, "", StageStartup},
		{pgtest.HugeError, "", StageStartup},
		{pgtest.BogusSCRAM, "password=s3cret-pw", StageAuth},
	} {
		srv := pgtest.StartHostile(t, tc.how)
		for _, mode := range []string{"prefer", "disable"} {
			for _, trace := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/trace=%t", tc.how, mode, trace), func(t *testing.T) {
					start := time.Now()
					r := check(t, srv.ConnString("connect_timeout=30 sslmode="+mode+" "+tc.extra), Options{Trace: trace})
					took := time.Since(start)
					expect(t, r, catalog.ProtocolMisbehaving, 1)
					if st := stageOf(r, tc.stage); st == nil || st.Status != StageFail {
						t.Errorf("stage %s did not fail: %+v", tc.stage, r.Stages)
					}
					if len(r.Trace) > maxTraceEvents+1 {
						t.Errorf("%d trace events kept", len(r.Trace))
					}
					t.Logf("%s in %s: %s", r.Diagnosis.Code, took.Round(time.Millisecond), r.Diagnosis.Evidence)
				})
			}
		}
	}
}
