package probe

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgtriage/pgtriage/catalog"
)

// Pooler is what the check learnt of a connection pooler (or another relay) between the client and the server.
type Pooler struct {
	// Name is the pooler's name ("PgBouncer", "Supavisor", ...), or "a pooler or proxy" when only relaying was seen.
	Name string `json:"name"`
	// PoolMode is "session" or "transaction" (transaction covers statement pooling), when it could be learnt.
	PoolMode string `json:"pool_mode,omitempty"`
	// PreparedStatements is "kept" when the pooler keeps a client's prepared statements across transactions,
	// "not kept" when it does not; empty when not learnt (not transaction pooling, or not logged in).
	PreparedStatements string `json:"prepared_statements,omitempty"`
	Evidence           string `json:"evidence"`
}

// Where a failure lies, seen from the client, when a pooler answered (catalog.PoolerSide's words).
const (
	SidePooler = "pooler" // the pooler refused the client itself
	SideServer = "server" // the server behind the pooler (or the pooler's way to it) failed
)

// probeParameter is a startup parameter no server or pooler knows. PgBouncer refuses unknown startup parameters
// at once, before any password and without opening a server connection ("unsupported startup parameter"); a
// PostgreSQL server asks for the password first, and the probe hangs up there, as the startup stage does.
const probeParameter = "pgtriage.pooler_probe"

// identify opens one more connection and sends a startup message with probeParameter and no password, to learn
// whether a pooler that refuses unknown parameters answers. It returns the pooler's name, or "".
func (p *prober) identify(ctx context.Context, d *dialed, plain bool) string {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := d.redial(ctx)
	if err != nil {
		return ""
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	rec := &recorder{tracer: p.tr}
	p.tr.event("-", "asking whether a pooler answers: a startup message with the unknown parameter %s and no password", probeParameter)
	rw := conn
	if !plain && d.network == "tcp" {
		if neg, f := requestTLS(conn, rec, deadline, time.Until(deadline)); f == nil && neg == tlsAccepted {
			tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: d.ep.name()}) // nothing secret is sent
			rw = tc
		} else if f != nil {
			return ""
		}
	}
	params := map[string]string{"user": p.settings.User, "database": p.settings.Database, probeParameter: "1"}
	fe := pgproto3.NewFrontend(rw, rw)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: params})
	if err := fe.Flush(); err != nil {
		return ""
	}
	msg, err := fe.Receive()
	if err != nil {
		return ""
	}
	if e, ok := msg.(*pgproto3.ErrorResponse); ok {
		p.tr.event("<", "ErrorResponse %s: %s", e.Code, e.Message)
		return catalog.PoolerOf(e.Message)
	}
	p.tr.event("<", "%T: no pooler refused the parameter", msg)
	return ""
}

// poolerAfterFailure looks, after a failed attempt where something answered in PostgreSQL's protocol, for a pooler
// in front of the server, and puts the failure on its side.
func (p *prober) poolerAfterFailure(ctx context.Context, a *attempt) {
	f := a.fail
	if f == nil || !f.answered && f.code != catalog.ServerUnresponsive || f.stage == StageProtocol || f.stage == StageTLS {
		return
	}
	name := catalog.PoolerOf(f.evidence)
	how := "its words in the error"
	if name == "" {
		name, how = p.identify(ctx, a.d, a.plain), "its refusal of an unknown startup parameter"
	}
	if name == "" {
		return
	}
	a.rec.mu.Lock()
	saslFinal := a.rec.saslFinal
	a.rec.mu.Unlock()
	side := SidePooler
	switch {
	case catalog.PoolerSide(f.code) != "":
		side = catalog.PoolerSide(f.code)
	case relayedLogin(f, saslFinal):
		// The pooler accepted the client and relays the server's refusal of its own login: with SQLSTATE 08P01
		// (PgBouncer before 1.22 sends all its errors with it; PostgreSQL never says these words with it), or after
		// the pooler proved it knew the client's password (SCRAM's server signature).
		side = SideServer
		if c := catalog.Lookup(f.code); c.Category == catalog.Login {
			f.code = catalog.PoolerServerLoginFailed
		}
		f.evidence = fmt.Sprintf("%s accepted the client, then relayed the server's refusal of its own login: %s", name, f.evidence)
	case f.code == catalog.ServerUnresponsive && f.stage == StageServer:
		side, f.code = SideServer, catalog.PoolerWaitTimeout
		f.evidence = fmt.Sprintf("logged in to %s, but no server connection came for the first query before the deadline (%s): %s", name, p.timeout, f.evidence)
	case f.code == catalog.ServerUnresponsive:
		side, f.code = SideServer, catalog.PoolerServerUnavailable
		f.evidence = fmt.Sprintf("%s took the login but got no server connection before the deadline (%s); its client_login_timeout may be longer: %s", name, p.timeout, f.evidence)
	}
	f.side = side
	a.pooler = &Pooler{Name: name, Evidence: name + " identified by " + how}
	where := map[string]string{SidePooler: name + " itself refused the client", SideServer: "the failure lies behind " + name + ", between it and the server"}[side]
	a.stage(StagePooler, StageFail, time.Time{}, a.pooler.Evidence+"; "+where)
}

// relayedLogin reports whether a login failure came from the server through the pooler rather than from the
// pooler's own check of the client.
func relayedLogin(f *failure, saslFinal bool) bool {
	switch f.code {
	case catalog.AuthPasswordFailed, catalog.AuthRoleNotFound, catalog.AuthRejected, catalog.AuthHBARejected,
		catalog.AuthLoginNotPermitted, catalog.DBNotFound, catalog.AuthNoConnectPrivilege:
	default:
		return false
	}
	if catalog.PoolerOf(f.evidence) != "" {
		return false // the pooler's own words (PgBouncer's "SASL authentication failed" for a wrong password)
	}
	return f.sqlstate == "08P01" || saslFinal
}

// poolerAfterLogin looks, on a session that logged in, for a pooler: one that refuses an unknown startup parameter,
// or a relay that the server's port gives away. Through a pooler it learns the pool mode and whether prepared
// statements survive transaction pooling, and says which server facts are the pooler's.
func (p *prober) poolerAfterLogin(ctx context.Context, a *attempt, pg *pgconn.PgConn, serverPort int) {
	name := p.identify(ctx, a.d, a.plain)
	how := "its refusal of an unknown startup parameter"
	relayed := a.d.network == "tcp" && serverPort > 0 && serverPort != int(a.d.ep.target.Port)
	if name == "" && !relayed {
		return
	}
	if name == "" {
		name, how = "a pooler or proxy", "the server's port"
	}
	if relayed {
		how += fmt.Sprintf("; the server listens on port %d, not on %d", serverPort, a.d.ep.target.Port)
	}
	start := time.Now()
	pl := &Pooler{Name: name, Evidence: name + " identified by " + how}
	a.pooler = pl
	pl.PoolMode = p.poolMode(ctx, a, pg)
	status := StageOK
	detail := pl.Evidence
	if pl.PoolMode != "" {
		detail += "; pool_mode " + pl.PoolMode
	}
	if pl.PoolMode == "transaction" {
		pl.PreparedStatements = preparedStatementsKept(ctx, pg)
		if pl.PreparedStatements == "not kept" {
			status = StageWarn
			c := catalog.Lookup(catalog.PoolerPreparedStatements)
			steps := c.Steps(p.facts(a.d, a.server))
			a.findings = append(a.findings, Finding{Code: string(c.Code), Severity: "warning", Summary: fmt.Sprintf(
				"%s pools transactions and does not keep prepared statements: drivers that prepare named statements (pgx by default, PgJDBC after 5 executions, Npgsql with auto-prepare) will fail with 26000 or 42P05. %s",
				name, strings.Join(steps, " "))})
		}
		if pl.PreparedStatements != "" {
			detail += "; prepared statements " + pl.PreparedStatements + " across transactions"
		}
	}
	if a.server != nil {
		detail += "; the server's client address and connection counts are what the server sees of " + name
	}
	a.stage(StagePooler, status, start, detail)
}

// poolMode asks the pooler for a second session and compares the server process of both: the same process means
// the pooler gave the first session's server connection to the second, so it pools transactions. The second
// session's query has a short deadline: under session pooling with a full pool it waits for a server connection
// that the first session holds, which says session pooling too.
func (p *prober) poolMode(ctx context.Context, a *attempt, first *pgconn.PgConn) string {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	pid1, err := backendPID(ctx, first)
	if err != nil {
		return ""
	}
	cfg := p.settings.TargetConfig(a.d.ep.index)
	cfg.Fallbacks = nil
	cfg.ConnectTimeout = 0
	host := a.d.ep.target.Host
	if a.d.network != "unix" {
		host = a.d.ip()
	}
	cfg.Host = host
	cfg.LookupFunc = func(context.Context, string) ([]string, error) { return []string{host}, nil }
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
		cfg.TLSConfig.InsecureSkipVerify = true // the first session verified the pooler already; this one only counts
		cfg.TLSConfig.VerifyPeerCertificate, cfg.TLSConfig.VerifyConnection = nil, nil
	}
	p.tr.event("-", "opening a second session to learn the pool mode")
	second, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return ""
	}
	defer second.Close(context.Background())
	qctx, qcancel := context.WithTimeout(ctx, min(p.timeout/2, 2*time.Second))
	defer qcancel()
	pid2, err := backendPID(qctx, second)
	switch {
	case err != nil && qctx.Err() != nil:
		return "session"
	case err != nil:
		return ""
	case pid1 == pid2:
		return "transaction"
	}
	return "session"
}

func backendPID(ctx context.Context, pg *pgconn.PgConn) (string, error) {
	res, err := pg.Exec(ctx, "SELECT pg_backend_pid()").ReadAll()
	if err != nil {
		return "", err
	}
	if len(res) == 0 || len(res[0].Rows) == 0 {
		return "", fmt.Errorf("no row")
	}
	return string(res[0].Rows[0][0]), nil
}

// preparedStatementsKept prepares a named statement that lists the server connection's prepared statements. A
// pooler that keeps prepared statements renames them on the server (PgBouncer 1.21+: PGBOUNCER_n), so the name
// does not appear; one that passes them through leaves the name as it is (or loses the statement, 26000), and a
// driver that prepares will fail once its next transaction lands on another server connection.
func preparedStatementsKept(ctx context.Context, pg *pgconn.PgConn) string {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "pgtriage_probe_" + hex.EncodeToString(suffix)
	if _, err := pg.Prepare(ctx, name, "SELECT name FROM pg_prepared_statements", nil); err != nil {
		return ""
	}
	defer func() { _ = pg.Deallocate(ctx, name) }()
	res := pg.ExecPrepared(ctx, name, nil, nil, nil).Read()
	if res.Err != nil {
		if catalog.ClassifyError(res.Err).Code == catalog.PoolerPreparedStatements {
			return "not kept"
		}
		return ""
	}
	for _, row := range res.Rows {
		if string(row[0]) == name {
			return "not kept"
		}
	}
	return "kept"
}
