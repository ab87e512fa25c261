package probe

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// expectPooler asserts the verdict, that PgBouncer was named and on which side of it the failure lies ("" for a
// healthy connection).
func expectPooler(t *testing.T, r *Report, code catalog.Code, exit int, side string) {
	t.Helper()
	expect(t, r, code, exit)
	if r.Pooler == nil || r.Pooler.Name != "PgBouncer" {
		t.Fatalf("pooler = %+v, want PgBouncer; stages %+v", r.Pooler, r.Stages)
	}
	if r.Diagnosis.Side != side {
		t.Fatalf("side = %q, want %q (%s)", r.Diagnosis.Side, side, r.Diagnosis.Evidence)
	}
	if st := stageOf(r, StagePooler); st == nil {
		t.Fatalf("no pooler stage: %+v", r.Stages)
	}
}

// Every failure a real PgBouncer can be made to give, each on its side of the pooler, and the healthy cases in
// both pool modes, with TLS on each side.
func TestThroughPgBouncer(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{TLS: true, Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
	users := map[string]string{"app": appPassword}
	app := func(b *pgtest.Bouncer, kv ...string) string {
		return b.ConnString(append([]string{"user=app", "password=" + appPassword, "dbname=postgres", "sslmode=disable"}, kv...)...)
	}

	t.Run("direct", func(t *testing.T) {
		r := check(t, c.ConnString("user=app", "password="+appPassword, "dbname=postgres", "sslmode=disable"), Options{})
		expect(t, r, catalog.OK, 0)
		if r.Pooler != nil || stageOf(r, StagePooler) != nil {
			t.Fatalf("a pooler was reported on a direct connection: %+v", r.Pooler)
		}
	})
	t.Run("session", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users})
		r := check(t, app(b), Options{})
		expectPooler(t, r, catalog.OK, 0, "")
		if r.Pooler.PoolMode != "session" || r.Pooler.PreparedStatements != "" {
			t.Fatalf("pooler = %+v, want session pooling", r.Pooler)
		}
	})
	t.Run("transaction, TLS on both sides", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users, PoolMode: "transaction", ClientTLS: "require", ServerTLS: "verify-full"})
		r := check(t, app(b, "sslmode=verify-full", "sslrootcert="+b.CAFile, "host=localhost"), Options{})
		expectPooler(t, r, catalog.OK, 0, "")
		if r.Pooler.PoolMode != "transaction" || r.Pooler.PreparedStatements != "not kept" {
			t.Fatalf("pooler = %+v, want transaction pooling without prepared statements", r.Pooler)
		}
		if !hasFinding(r, catalog.PoolerPreparedStatements) {
			t.Fatalf("no prepared-statement warning: %+v", r.Findings)
		}
		if st := stageOf(r, StageTLS); st == nil || st.Status != StageOK {
			t.Fatalf("tls stage %+v", st)
		}
	})
	t.Run("unknown database", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users})
		expectPooler(t, check(t, app(b, "dbname=nosuch"), Options{}), catalog.PoolerDBNotFound, 1, SidePooler)
	})
	t.Run("wrong password at the pooler", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users})
		expectPooler(t, check(t, app(b, "password=wrong-pw"), Options{}), catalog.AuthPasswordFailed, 1, SidePooler)
	})
	t.Run("server login failing", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users, ServerUser: "app", ServerPassword: "wrong-pw"})
		expectPooler(t, check(t, app(b), Options{}), catalog.PoolerServerLoginFailed, 1, SideServer)
	})
	t.Run("max_client_conn", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users, MaxClientConn: 2})
		if err := b.FillClients(t, app(b)); catalog.ClassifyError(err).Code != catalog.PoolerClientLimit {
			t.Fatalf("filling PgBouncer's client slots: %v", err)
		}
		expectPooler(t, check(t, app(b), Options{}), catalog.PoolerClientLimit, 1, SidePooler)
	})
	t.Run("query_wait_timeout", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users, PoolSize: 1, QueryWaitTimeout: time.Second})
		holdServerConnection(t, app(b))
		expectPooler(t, check(t, app(b), Options{}), catalog.PoolerWaitTimeout, 1, SideServer)
	})
	t.Run("TLS required by the pooler", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users, ClientTLS: "require"})
		expectPooler(t, check(t, app(b), Options{}), catalog.PoolerTLSRequired, 1, SidePooler)
	})
	t.Run("unsupported startup parameter", func(t *testing.T) {
		b := pgtest.StartPgBouncer(t, c, pgtest.BouncerOptions{Users: users})
		expectPooler(t, check(t, app(b, "options=-c statement_timeout=5s"), Options{}), catalog.PoolerUnsupportedParam, 1, SidePooler)
	})
	t.Run("server down behind it", func(t *testing.T) {
		down := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: appPassword}}})
		// A client_login_timeout shorter than the check's deadline lets PgBouncer say why; the default (60 s)
		// leaves the check to find it by the deadline.
		quick := pgtest.StartPgBouncer(t, down, pgtest.BouncerOptions{Users: users, Settings: map[string]string{"client_login_timeout": "1"}})
		slow := pgtest.StartPgBouncer(t, down, pgtest.BouncerOptions{Users: users})
		down.Stop(t, "fast")
		expectPooler(t, check(t, app(quick), Options{}), catalog.PoolerServerUnavailable, 1, SideServer)
		expectPooler(t, check(t, app(slow, "connect_timeout=2"), Options{}), catalog.PoolerServerUnavailable, 1, SideServer)
	})
}

// holdServerConnection opens a session that runs a query, so that under session pooling it keeps a server
// connection until the test ends.
func holdServerConnection(t *testing.T, connString string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
		t.Fatal(err)
	}
}
