package faultproxy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// connectErr connects and returns the error, closing a connection that worked.
func connectErr(t *testing.T, connString string) error {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgconn.Connect(ctx, connString)
	if err == nil {
		conn.Close(ctx)
		return errors.New("connected")
	}
	return err
}

// TestInjectedErrorsMatchServer makes a real PostgreSQL server send each
// error it can be made to send, injects the same cause through the proxy, and
// compares the two ErrorResponses field by field. Line is left out: it is the
// line in the server's sources and moves between minor versions.
func TestInjectedErrorsMatchServer(t *testing.T) {
	c := startCluster(t, pgtest.Options{MaxConnections: 6, ReservedConnections: 2})
	p := startProxy(t, c, faultproxy.Config{})
	direct := func(kv ...string) string {
		return c.ConnString(append([]string{"sslmode=disable", "dbname=postgres"}, kv...)...)
	}
	via := func(kv ...string) string { return proxyConnString(p, append([]string{"sslmode=disable"}, kv...)...) }

	type pair struct {
		cause    catalog.Code
		fault    faultproxy.Fault
		injected string // connection string through the proxy
		real     func() error
	}
	pairs := []pair{
		{cause: catalog.AuthPasswordFailed, injected: via("user=app", "password=secret"),
			real: func() error { return connectErr(t, direct("user=app", "password=wrong")) }},
		{cause: catalog.DBNotFound, fault: faultproxy.Fault{Database: "nope"}, injected: via("user=app", "password=secret"),
			real: func() error { return connectErr(t, direct("user=app", "password=secret", "dbname=nope")) }},
		{cause: catalog.AuthHBARejected, injected: via("user=nobody", "dbname=nope"),
			real: func() error { return connectErr(t, direct("user=nobody", "dbname=nope")) }},
		{cause: catalog.AuthRoleNotFound, fault: faultproxy.Fault{User: "ghost"}, injected: via("user=postgres"),
			real: func() error { return connectErr(t, direct("user=ghost")) }},
		// The slot errors last: they fill the server's slots.
		{cause: catalog.LimitsReservedSlots, injected: via("user=app", "password=secret"),
			real: func() error {
				for range 4 {
					holdSlot(t, direct("user=app", "password=secret"))
				}
				return connectErr(t, direct("user=app", "password=secret"))
			}},
		{cause: catalog.LimitsTooManyConnections, injected: via("user=postgres"),
			real: func() error {
				for range 2 {
					holdSlot(t, direct("user=postgres"))
				}
				return connectErr(t, direct("user=postgres"))
			}},
		{cause: catalog.ServerShuttingDown, injected: via("user=postgres"),
			real: func() error {
				c.StopSmart(t)
				return connectErr(t, direct("user=postgres"))
			}},
	}
	injected := map[catalog.Code]error{}
	for _, pr := range pairs {
		f := pr.fault
		f.Kind, f.Cause = faultproxy.KindError, pr.cause
		f = addFault(t, p, f)
		injected[pr.cause] = connectErr(t, pr.injected)
		p.Remove(f.ID)
	}
	for _, pr := range pairs {
		t.Run(string(pr.cause), func(t *testing.T) {
			want := pgError(t, pr.real())
			got := pgError(t, injected[pr.cause])
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(pgconn.PgError{}, "Line")); diff != "" {
				t.Errorf("injected error differs from the server's (-server +proxy):\n%s", diff)
			}
			if cause := catalog.ClassifyError(got); cause.Code != pr.cause {
				t.Errorf("catalog classifies the injected error as %s, want %s", cause.Code, pr.cause)
			}
		})
	}
}

// TestInjectedErrorsWithoutServer covers the causes a test cannot make a
// server produce on demand: their fields come from PostgreSQL 15's sources.
func TestInjectedErrorsWithoutServer(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	for _, tc := range []struct {
		cause   catalog.Code
		message string
	}{
		{catalog.ServerStartingUp, "the database system is starting up"},
		{catalog.ServerRecovery, "the database system is in recovery mode"},
	} {
		t.Run(string(tc.cause), func(t *testing.T) {
			f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindError, Cause: tc.cause})
			defer p.Remove(f.ID)
			pe := pgError(t, connectErr(t, proxyConnString(p, "user=postgres", "sslmode=disable")))
			want := pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P03", Message: tc.message,
				File: "postmaster.c", Routine: "ProcessStartupPacket"}
			if diff := cmp.Diff(&want, pe, cmpopts.IgnoreFields(pgconn.PgError{}, "Line")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if cause := catalog.ClassifyError(pe); cause.Code != tc.cause {
				t.Errorf("catalog classifies it as %s", cause.Code)
			}
		})
	}
}

// TestErrorInsideTLS: a client that asked for TLS gets the error inside TLS,
// as from a server, and the message names the encryption as the server does.
func TestErrorInsideTLS(t *testing.T) {
	c := startCluster(t, pgtest.Options{})
	p := startProxy(t, c, faultproxy.Config{})
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindError, Cause: catalog.AuthHBARejected, ClientAddr: "203.0.113.7"})
	pe := pgError(t, connectErr(t, proxyConnString(p, "user=app", "sslmode=require")))
	want := `no pg_hba.conf entry for host "203.0.113.7", user "app", database "postgres", SSL encryption`
	if pe.Code != "28000" || pe.Message != want {
		t.Errorf("got %s %q, want 28000 %q", pe.Code, pe.Message, want)
	}
}

// holdSlot keeps a connection open until the test ends. The backend of a connection the server just refused exits a
// moment after the client has its error, and meanwhile still takes a slot: a 53300 is tried again for a while.
func holdSlot(t *testing.T, connString string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := pgconn.Connect(ctx, connString)
		cancel()
		if err == nil {
			t.Cleanup(func() { conn.Close(context.Background()) })
			return
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "53300" || time.Now().After(deadline) {
			t.Fatalf("hold a connection slot: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
