package probe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
)

// serverQuery reads the server's state in one round trip, from settings and catalog views only: no writes, no
// locks, nothing a busy server would notice. reserved_connections exists from PostgreSQL 16 (missing_ok).
const serverQuery = `SELECT version(),
 current_setting('server_version_num'),
 pg_is_in_recovery(),
 current_setting('transaction_read_only'),
 coalesce(host(inet_client_addr()), ''),
 to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
 extract(epoch FROM now() - pg_postmaster_start_time())::float8,
 current_setting('max_connections'),
 current_setting('superuser_reserved_connections'),
 coalesce(current_setting('reserved_connections', true), '0'),
 (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
 (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user),
 (SELECT count(*) FROM pg_stat_activity WHERE usename = current_user AND backend_type = 'client backend'),
 (SELECT datconnlimit FROM pg_database WHERE datname = current_database()),
 (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'),
 coalesce(inet_server_port(), 0)`

// recentRestart is how recent a server start draws the hint of a restart, maintenance or scaling.
const recentRestart = 15 * time.Minute

// inspect runs the server stage on a connected session: facts, findings, and target_session_attrs. It returns the
// port the server listens on (0 over a unix socket or when it could not be read): a pooler or proxy in between
// gives itself away when it differs from the port the client dialled.
func (a *attempt) inspect(ctx context.Context, p *prober, pg *pgconn.PgConn) (serverPort int) {
	start := time.Now()
	srv := &Server{TargetSession: p.settings.TargetSessionAttrs, AuthMethod: strings.Join(a.rec.methods, ", ")}
	if a.tls != nil {
		srv.TLS = a.tls.summary
	}
	a.server = srv
	results, err := pg.Exec(ctx, serverQuery).ReadAll()
	if err != nil && pg.IsClosed() {
		// The session ended right after the login (57P01 from a failover or pg_terminate_backend, a reset): the
		// application's first query meets the same, so this is the verdict, not a missing fact.
		var pgErr *pgconn.PgError
		f := networkFailure(StageServer, err, true)
		if errors.As(err, &pgErr) {
			f = serverFailure(StageServer, pgErr.Severity, pgErr.Code, pgErr.Message, pgErr.Detail)
		}
		f.evidence = "the session ended right after the login: " + f.evidence
		a.failAt(start, f)
		return
	}
	if err != nil || len(results) == 0 || len(results[0].Rows) == 0 {
		// Connected all the same: the facts are missing, not the connection.
		srv.Version = pg.ParameterStatus("server_version")
		srv.SessionAttrsOK = p.settings.TargetSessionAttrs == "" || p.settings.TargetSessionAttrs == "any"
		a.stage(StageServer, StageWarn, start, fmt.Sprintf("connected, but the server's state could not be read: %v", err))
		return
	}
	row := results[0].Rows[0]
	col := func(i int) string { return string(row[i]) }
	num := func(i int) int { n, _ := strconv.Atoi(col(i)); return n }
	srv.Version = strings.SplitN(col(0), ",", 2)[0]
	srv.VersionNum = num(1)
	srv.InRecovery = col(2) == "t"
	srv.ReadOnly = col(3) == "on"
	srv.ClientAddress = col(4)
	srv.StartedAt = col(5)
	srv.UptimeSeconds, _ = strconv.ParseFloat(col(6), 64)
	srv.Connections = Connections{Used: num(10), Max: num(7), Reserved: num(8) + num(9)}
	serverPort = num(15)
	if l := num(11); l >= 0 {
		srv.RoleConnLimit = &LimitUsage{Limit: l, Used: num(12)}
	}
	if l := num(13); l >= 0 {
		srv.DBConnLimit = &LimitUsage{Limit: l, Used: num(14)}
	}
	a.findings = append(a.findings, serverFindings(srv, p.settings.User, p.settings.Database)...)

	detail := fmt.Sprintf("%s; %s; connections %d of %d (%d reserved)", srv.Version, role(srv), srv.Connections.Used,
		srv.Connections.Max, srv.Connections.Reserved)
	if srv.ClientAddress != "" {
		detail += "; the server sees the client as " + srv.ClientAddress
	}
	srv.SessionAttrsOK = sessionAttrsOK(p.settings.TargetSessionAttrs, srv)
	if !srv.SessionAttrsOK {
		code := catalog.ServerReadOnly
		if tsa := p.settings.TargetSessionAttrs; tsa == "read-only" || tsa == "standby" {
			code = catalog.ServerNotStandby
		}
		a.failAt(start, &failure{stage: StageServer, code: code, answered: true,
			evidence: fmt.Sprintf("target_session_attrs=%s, but this server is %s", p.settings.TargetSessionAttrs, role(srv))})
		a.stages[len(a.stages)-1].Detail += "; " + detail
		return
	}
	status := StageOK
	for _, f := range a.findings {
		if f.Severity == "warning" && strings.HasPrefix(f.Code, "server.") || strings.HasPrefix(f.Code, "limits.") {
			status = StageWarn
		}
	}
	a.stage(StageServer, status, start, detail)
	return serverPort
}

func role(srv *Server) string {
	switch {
	case srv.InRecovery:
		return "a standby (in recovery, read-only)"
	case srv.ReadOnly:
		return "a primary in read-only mode (default_transaction_read_only)"
	}
	return "a primary (read-write)"
}

// sessionAttrsOK applies libpq's target_session_attrs. prefer-standby is satisfied by any server: libpq falls back
// to a primary when no standby answers.
func sessionAttrsOK(tsa string, srv *Server) bool {
	switch tsa {
	case "read-write":
		return !srv.ReadOnly
	case "read-only":
		return srv.ReadOnly
	case "primary":
		return !srv.InRecovery
	case "standby":
		return srv.InRecovery
	}
	return true
}

// serverFindings are the warnings a connected server deserves: a recent start, connection usage close to a limit.
func serverFindings(srv *Server, user, database string) []Finding {
	var out []Finding
	if srv.UptimeSeconds > 0 && srv.UptimeSeconds < recentRestart.Seconds() {
		out = append(out, Finding{Code: "server.recent_restart", Severity: "warning", Summary: fmt.Sprintf(
			"the server started %s ago (%s): a restart, maintenance, failover or scaling operation; failures around then were likely transient",
			time.Duration(srv.UptimeSeconds*float64(time.Second)).Round(time.Second), srv.StartedAt)})
	}
	if srv.InRecovery {
		out = append(out, Finding{Code: "server.standby", Severity: "info", Summary: "the server is a standby (in recovery): it accepts reads only"})
	}
	c := srv.Connections
	if usable := c.Max - c.Reserved; usable > 0 && c.Used*100 >= usable*80 {
		out = append(out, Finding{Code: "limits.connections_high", Severity: "warning", Summary: fmt.Sprintf(
			"%d of %d connections in use (max_connections %d less %d reserved): close to \"too many clients\"", c.Used, usable, c.Max, c.Reserved)})
	}
	if l := srv.RoleConnLimit; l != nil && l.Limit > 0 && l.Used*100 >= l.Limit*80 {
		out = append(out, Finding{Code: "limits.role_connections_high", Severity: "warning", Summary: fmt.Sprintf(
			"role %s uses %d of its %d connections (CONNECTION LIMIT)", user, l.Used, l.Limit)})
	}
	if l := srv.DBConnLimit; l != nil && l.Limit > 0 && l.Used*100 >= l.Limit*80 {
		out = append(out, Finding{Code: "limits.db_connections_high", Severity: "warning", Summary: fmt.Sprintf(
			"database %s uses %d of its %d connections (CONNECTION LIMIT)", database, l.Used, l.Limit)})
	}
	return out
}
