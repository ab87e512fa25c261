package faultproxy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestInjectedPoolerErrorsMatchPgBouncer makes a real PgBouncer send each of its errors a test can provoke (FillClients
// connects until the first refusal),
// injects the same cause through the proxy, and compares the two ErrorResponses field by field; the others
// (server_login_retry, client_login_timeout, query_wait_timeout) are checked for the catalog's verdict.
func TestInjectedPoolerErrorsMatchPgBouncer(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	users := map[string]string{"app": "secret"}
	open := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users})
	full := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users, MaxClientConn: 2})
	tlsOnly := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users, ClientTLS: "require"})
	p := startProxy(t, c, faultproxy.Config{})
	via := proxyConnString(p, "user=app", "password=secret", "sslmode=disable")
	for _, tc := range []struct {
		cause catalog.Code
		fault faultproxy.Fault
		real  string // the connection string that makes PgBouncer refuse; "" for the causes no test provokes here
	}{
		{cause: catalog.PoolerDBNotFound, fault: faultproxy.Fault{Database: "nosuch"},
			real: open.ConnString("user=app", "password=secret", "dbname=nosuch", "sslmode=disable")},
		{cause: catalog.PoolerClientLimit, real: full.ConnString("user=app", "password=secret", "dbname=postgres", "sslmode=disable")},
		{cause: catalog.PoolerTLSRequired, real: tlsOnly.ConnString("user=app", "password=secret", "dbname=postgres", "sslmode=disable")},
		{cause: catalog.PoolerServerLoginFailed},
		{cause: catalog.PoolerServerUnavailable},
		{cause: catalog.PoolerWaitTimeout},
	} {
		t.Run(string(tc.cause), func(t *testing.T) {
			f := tc.fault
			f.Kind, f.Cause = faultproxy.KindError, tc.cause
			f = addFault(t, p, f)
			defer p.Remove(f.ID)
			got := pgError(t, connectErr(t, via))
			if tc.real != "" {
				want := pgError(t, full.FillClients(t, tc.real))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("injected error differs from PgBouncer's (-pgbouncer +proxy):\n%s", diff)
				}
			}
			if cause := catalog.ClassifyError(got); cause.Code != tc.cause {
				t.Errorf("catalog classifies the injected error %q as %s, want %s", got.Message, cause.Code, tc.cause)
			}
		})
	}
}
