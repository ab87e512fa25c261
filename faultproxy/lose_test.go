package faultproxy_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// loseCluster starts a server with table t (id unique, checked at commit) and
// a proxy in front of it whose events the test reads.
func loseCluster(t *testing.T) (*pgtest.Cluster, *faultproxy.Proxy, *events) {
	c := startCluster(t, pgtest.Options{})
	c.Exec(t, `CREATE TABLE t (id int UNIQUE DEFERRABLE INITIALLY DEFERRED); GRANT ALL ON t TO public`)
	ev := &events{}
	p := startProxy(t, c, faultproxy.Config{OnEvent: ev.add})
	return c, p, ev
}

// rows counts the rows of t with this id, asked of the server directly.
func rows(t *testing.T, c *pgtest.Cluster, id int) int {
	t.Helper()
	direct := connect(t, c.ConnString("user=postgres", "dbname=postgres"))
	var n int
	if err := direct.QueryRow(testCtx(t), "select count(*) from t where id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// losses are the lose_answer events so far.
func losses(ev *events) []faultproxy.Event {
	var out []faultproxy.Event
	for _, e := range ev.of(faultproxy.EventFault) {
		if e.Kind == faultproxy.KindLoseAnswer {
			out = append(out, e)
		}
	}
	return out
}

// insertTx inserts id in a pgx transaction through the proxy and returns
// what its commit said.
func insertTx(t *testing.T, conn *pgx.Conn, ids ...int) error {
	t.Helper()
	ctx := testCtx(t)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := tx.Exec(ctx, "insert into t values ($1)", id); err != nil {
			t.Fatal(err)
		}
	}
	return tx.Commit(ctx)
}

// A COMMIT that succeeded loses its answer: the client sees its connection
// fail, yet the row is committed.
func TestLoseAnswerCommit(t *testing.T) {
	c, p, ev := loseCluster(t)
	f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLoseAnswer})
	if f.Statement != "COMMIT" {
		t.Errorf("default statement %q, want COMMIT", f.Statement)
	}
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	err := insertTx(t, conn, 1)
	var pe *pgconn.PgError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("commit through lose_answer: want a connection error, got %v", err)
	}
	if n := rows(t, c, 1); n != 1 {
		t.Errorf("the commit whose answer was lost left %d rows, want 1", n)
	}
	if l := losses(ev); len(l) != 1 || l[0].FaultID != f.ID || l[0].Detail != "lost the answer to COMMIT" {
		t.Errorf("lose_answer events %+v, want one naming COMMIT", l)
	}
	if !conn.IsClosed() {
		t.Error("the client's connection is still open after its answer was lost")
	}
}

// A COMMIT that fails (a deferred unique check) is answered as usual, the
// session goes on, and the fault keeps its answer to lose for the next one.
func TestLoseAnswerFailingCommit(t *testing.T) {
	c, p, ev := loseCluster(t)
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLoseAnswer, Count: 1})
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=require"))
	err := insertTx(t, conn, 2, 2)
	if pe := pgError(t, err); pe.Code != "23505" {
		t.Fatalf("failing commit: %v, want 23505", err)
	}
	if l := losses(ev); len(l) != 0 {
		t.Errorf("a failing commit counted as lost: %+v", l)
	}
	var one int
	if err := conn.QueryRow(testCtx(t), "select 1").Scan(&one); err != nil {
		t.Fatalf("the session after a failing commit: %v", err)
	}
	// The one answer to lose is still there.
	if err := insertTx(t, conn, 3); err == nil {
		t.Fatal("the next commit was answered: the failing one used up the count")
	}
	if n := rows(t, c, 3); n != 1 || len(losses(ev)) != 1 {
		t.Errorf("after the lost commit: %d rows, %d losses; want 1 and 1", n, len(losses(ev)))
	}
}

// Statement INSERT: an INSERT in its own implicit transaction loses its answer.
func TestLoseAnswerInsert(t *testing.T) {
	c, p, ev := loseCluster(t)
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLoseAnswer, Statement: "insert"})
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	// Select is not an insert: answered.
	if _, err := conn.Exec(testCtx(t), "select 1"); err != nil {
		t.Fatal(err)
	}
	// A simple-protocol query, as the fault watches: pgx sends an Exec without arguments that way.
	if _, err := conn.Exec(testCtx(t), "  INSERT INTO t VALUES (4)"); err == nil {
		t.Fatal("autocommit insert through lose_answer was answered")
	}
	if n := rows(t, c, 4); n != 1 || len(losses(ev)) != 1 {
		t.Errorf("after the lost insert: %d rows, %d losses; want 1 and 1", n, len(losses(ev)))
	}
}

// Count 1 loses exactly one answer: the next commit, on a new connection, is answered.
func TestLoseAnswerCount(t *testing.T) {
	c, p, ev := loseCluster(t)
	f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLoseAnswer, Count: 1})
	for id := 10; id < 13; id++ {
		conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
		err := insertTx(t, conn, id)
		if lost := id == 10; lost != (err != nil) {
			t.Errorf("commit %d: %v, want lost %v", id, err, lost)
		}
		if n := rows(t, c, id); n != 1 {
			t.Errorf("commit %d left %d rows", id, n)
		}
	}
	if l := losses(ev); len(l) != 1 {
		t.Errorf("%d answers lost, want 1", len(l))
	}
	if got := p.Faults(); len(got) != 1 || got[0].ID != f.ID {
		t.Errorf("faults in force %+v, want the spent lose_answer still listed", got)
	}
}

// A session that was idle in the event loop when the fault came loses its
// next commit's answer: the fault takes it out of the loop.
func TestLoseAnswerLiveSession(t *testing.T) {
	c, p, ev := loseCluster(t)
	for i, mode := range sslmodes {
		t.Run(mode, func(t *testing.T) {
			id := 20 + 2*i
			conn := connect(t, proxyConnString(p, "user=postgres", "sslmode="+mode))
			// Busy in the loop first, a commit answered as usual.
			if err := insertTx(t, conn, id); err != nil {
				t.Fatal(err)
			}
			before := len(losses(ev))
			f := addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLoseAnswer})
			defer p.Remove(f.ID)
			if err := insertTx(t, conn, id+1); err == nil {
				t.Fatal("commit on the live session was answered")
			}
			if n := rows(t, c, id+1); n != 1 || len(losses(ev)) != before+1 {
				t.Errorf("live session: %d rows, %d new losses; want 1 and 1", n, len(losses(ev))-before)
			}
		})
	}
}

func TestLoseAnswerValidation(t *testing.T) {
	p, err := faultproxy.Start(testCtx(t), faultproxy.Config{Upstream: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, f := range []faultproxy.Fault{
		{Kind: faultproxy.KindLoseAnswer, Count: -1},
		{Kind: faultproxy.KindLoseAnswer, Statement: "commit;"},
		{Kind: faultproxy.KindLoseAnswer, Statement: "insert into"},
	} {
		if _, err := p.Add(f); err == nil {
			t.Errorf("Add(%+v) accepted", f)
		}
	}
}

// A server that ends the session while the answer is held (here FATAL 57P01,
// then no ReadyForQuery) is heard as it spoke, and the answer is not counted
// as lost: the next matching query's is.
func TestLoseAnswerServerEndsSession(t *testing.T) {
	_, p, ev := loseCluster(t)
	addFault(t, p, faultproxy.Fault{Kind: faultproxy.KindLoseAnswer, Statement: "SELECT", Count: 1})
	conn := connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	_, err := conn.Exec(testCtx(t), "select pg_terminate_backend(pg_backend_pid())")
	if pe := pgError(t, err); pe.Code != "57P01" {
		t.Fatalf("terminated session: %v, want the server's 57P01", err)
	}
	if l := losses(ev); len(l) != 0 {
		t.Fatalf("the server's own end counted as lost: %+v", l)
	}
	conn = connect(t, proxyConnString(p, "user=postgres", "sslmode=disable"))
	if _, err := conn.Exec(testCtx(t), "select 1"); err == nil || len(losses(ev)) != 1 {
		t.Errorf("the next select: %v, %d losses; want its answer lost", err, len(losses(ev)))
	}
}
