package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/wirelimit"
)

// attempt is one connection to one address: protocol, tls, startup, auth and server.
type attempt struct {
	d        *dialed
	rec      *recorder
	stages   []Stage
	plain    bool // the startup goes without an SSLRequest (sslmode=disable, or allow's first try)
	findings []Finding
	fail     *failure
	server   *Server
	pooler   *Pooler
	tls      *tlsResult
}

func (a *attempt) stage(name StageName, status StageStatus, start time.Time, detail string) {
	var d time.Duration
	if !start.IsZero() {
		d = time.Since(start)
	}
	a.stageTook(name, status, d, detail)
}

func (a *attempt) stageTook(name StageName, status StageStatus, d time.Duration, detail string) {
	a.stages = append(a.stages, Stage{Name: name, Status: status, Address: a.d.address, Detail: detail, DurationMS: ms(d)})
}

// startupAndAuth records the startup stage (until the server asked for a method) and the auth stage (from then
// on) of a session that got past the server's first answer.
func (a *attempt) startupAndAuth(start time.Time, methods []string, authStatus StageStatus) {
	end := time.Now()
	asked := a.rec.askedAt()
	if asked.IsZero() {
		a.stageTook(StageStartup, StageOK, end.Sub(start), "the server admitted the client without a password (trust, peer or cert)")
		if authStatus != StageFail {
			a.stageTook(StageAuth, StageSkip, 0, "no password asked")
		}
		return
	}
	method := strings.Join(methods, ", ")
	a.stageTook(StageStartup, StageOK, asked.Sub(start), "pg_hba.conf admits the client; the server asks for "+method)
	if authStatus != StageFail {
		a.stageTook(StageAuth, authStatus, end.Sub(asked), method+" succeeded")
	}
}

// failAt records a failed stage and the failure.
func (a *attempt) failAt(start time.Time, f *failure) {
	if a.rec.answered {
		f.answered = true
	}
	a.stage(f.stage, StageFail, start, f.evidence)
	a.fail = f
}

// run carries the connection d opened through every stage after tcp.
func (p *prober) run(ctx context.Context, d *dialed) *attempt {
	a := &attempt{d: d, rec: &recorder{tracer: p.tr}}
	// The pooler's questions and the path-MTU test after the server stage get deadlines of their own.
	outer := ctx
	deadline := time.Now().Add(p.timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn := d.conn
	d.conn = nil // the attempt owns it now
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()

	defer func() {
		if a.fail != nil {
			d.locate(a.fail).attempt = a
		}
	}()
	// sslmode=allow, as libpq: without TLS first, and after a refusal once more with TLS.
	a.plain = p.settings.SSLMode == "disable" || p.settings.SSLMode == "allow"
	conn, ok := a.negotiate(ctx, p, conn, deadline)
	if !ok {
		return a
	}
	pg, ok := a.startup(ctx, p, conn)
	if !ok && p.settings.SSLMode == "allow" && a.d.network == "tcp" && a.fail.sqlstate != "" {
		if conn, err := d.redial(ctx); err == nil {
			p.tr.event("-", "sslmode=allow: refused without TLS, trying again with TLS")
			last := &a.stages[len(a.stages)-1]
			last.Status, last.Detail = StageWarn, "without TLS: "+last.Detail+"; sslmode=allow tries again with TLS"
			a.fail, a.plain, a.rec = nil, false, &recorder{tracer: p.tr}
			if conn, ok = a.negotiate(ctx, p, conn, deadline); ok {
				pg, ok = a.startup(ctx, p, conn)
			}
		}
	}
	a.tokenVerdict(p)
	if !ok {
		p.poolerAfterFailure(outer, a)
		return a
	}
	conn = nil // pgconn owns it now
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
		defer ccancel()
		_ = pg.Close(cctx)
	}()
	serverPort := a.inspect(ctx, p, pg)
	if a.fail != nil {
		p.poolerAfterFailure(outer, a)
	} else {
		p.poolerAfterLogin(outer, a, pg, serverPort)
		if a.fail == nil {
			a.pathMTU(outer, p, pg)
		}
	}
	return a
}

// negotiate runs the protocol and tls stages and returns the connection the startup goes over.
func (a *attempt) negotiate(ctx context.Context, p *prober, conn net.Conn, deadline time.Time) (net.Conn, bool) {
	s := p.settings
	host := a.d.ep.name()
	if a.d.network == "unix" {
		a.stage(StageProtocol, StageSkip, time.Time{}, "unix-domain socket: no TLS, as libpq")
		a.stage(StageTLS, StageSkip, time.Time{}, "unix-domain socket")
		return conn, true
	}
	if a.plain {
		a.stage(StageProtocol, StageSkip, time.Time{}, "sslmode="+s.SSLMode+": no SSLRequest, startup in the clear")
		a.stage(StageTLS, StageSkip, time.Time{}, "sslmode="+s.SSLMode)
		return conn, true
	}
	direct := s.SSLNegotiation == "direct"
	start := time.Now()
	if direct {
		a.stage(StageProtocol, StageOK, start, "sslnegotiation=direct: TLS at once with ALPN \"postgresql\"")
	} else {
		neg, f := requestTLS(conn, a.rec, deadline, p.nudgeAfter())
		if neg == needRedial {
			_ = conn.Close()
			var err error
			if conn, err = a.d.redial(ctx); err != nil {
				a.failAt(start, networkFailure(StageProtocol, err, true))
				return nil, false
			}
			neg, f = requestTLS(conn, a.rec, deadline, time.Until(deadline))
		}
		if f != nil {
			_ = conn.Close()
			a.failAt(start, f)
			return nil, false
		}
		if neg == tlsRefused {
			if requiresTLS(s.SSLMode) {
				_ = conn.Close()
				a.failAt(start, &failure{stage: StageProtocol, code: catalog.TLSNotSupported, answered: true,
					evidence: fmt.Sprintf("the server answered N to SSLRequest (no TLS), but sslmode=%s requires TLS", s.SSLMode)})
				return nil, false
			}
			a.stage(StageProtocol, StageOK, start, "PostgreSQL answered the SSLRequest: N (no TLS)")
			a.stage(StageTLS, StageWarn, time.Time{}, fmt.Sprintf("the server does not offer TLS; sslmode=%s continues in the clear", s.SSLMode))
			return conn, true
		}
		a.stage(StageProtocol, StageOK, start, "PostgreSQL answered the SSLRequest: S (TLS offered)")
	}
	start = time.Now()
	res, findings, f := handshake(conn, s, host, direct, deadline, a.rec)
	a.findings = append(a.findings, findings...)
	if f != nil {
		_ = conn.Close()
		a.failAt(start, f)
		return nil, false
	}
	a.tls = res
	detail := res.summary
	if len(res.names) > 0 {
		detail += fmt.Sprintf("; certificate for %s, valid until %s; %s", strings.Join(res.names, ", "),
			res.expires.UTC().Format(time.DateOnly), verification(s.SSLMode))
	}
	status := StageOK
	if len(findings) > 0 {
		status = StageWarn
	}
	a.stage(StageTLS, status, start, detail)
	return res.conn, true
}

func requiresTLS(mode string) bool {
	return mode == "require" || mode == "verify-ca" || mode == "verify-full"
}

func verification(mode string) string {
	switch mode {
	case "verify-full":
		return "chain and host name verified"
	case "verify-ca":
		return "chain verified, host name not checked (verify-ca)"
	}
	return "not verified (sslmode=" + mode + ")"
}

// startup hands the connection to pgx for the startup and authentication, recording every message.
func (a *attempt) startup(ctx context.Context, p *prober, conn net.Conn) (*pgconn.PgConn, bool) {
	cfg := a.startupConfig(p, conn)
	noPassword := cfg.Password == ""
	start := time.Now()
	connectCtx, identified := p.watchSilence(ctx, a)
	pg, err := pgconn.ConnectConfig(connectCtx, cfg)
	if f := identified(); f != nil && err != nil {
		a.failAt(start, f)
		return nil, false
	}
	a.rec.mu.Lock()
	h := startupExchange{methods: append([]string(nil), a.rec.methods...), authOK: a.rec.authOK, afterPassword: a.rec.afterPassword,
		garbage: a.rec.garbage, answered: a.rec.answered}
	a.rec.mu.Unlock()
	a.cleartextFinding(p, h.methods, h.afterPassword)
	if err == nil {
		a.startupAndAuth(start, h.methods, StageOK)
		return pg, true
	}

	f := startupFailure(err, h, noPassword)
	switch {
	case h.authOK:
		// Authenticated, then refused: the database, the limits or the server state.
		a.startupAndAuth(start, h.methods, StageOK)
		f.stage = StageServer
	case h.afterPassword:
		a.startupAndAuth(start, h.methods, StageFail)
		f.stage = StageAuth
	}
	failStart := start // the startup's own failure takes the whole exchange
	switch f.stage {
	case StageAuth:
		failStart = a.rec.askedAt()
	case StageServer:
		failStart = time.Time{}
	}
	a.failAt(failStart, f)
	// pg_hba.conf says "no encryption" for a client that never asked for TLS: if hostssl lines would admit it,
	// the answer is TLS, not a missing line.
	if f.code == catalog.AuthHBARejected && p.settings.SSLMode == "disable" && a.d.network == "tcp" && p.tlsAdmits(ctx, a.d, cfg) {
		f.code = catalog.TLSRequired
		f.evidence += "; over TLS the same client, role and database are admitted (hostssl)"
		a.stages[len(a.stages)-1].Detail = f.evidence
	}
	return nil, false
}

// startupExchange is what the recorder saw of a startup: the authentication methods the server asked for, whether it
// accepted the client, whether a password went out, and any bytes that were not PostgreSQL's.
type startupExchange struct {
	methods       []string
	authOK        bool
	afterPassword bool
	garbage       []byte
	answered      bool // a PostgreSQL server answered
}

// startupFailure classifies a startup that failed with err, from what the server said and asked for. Its stage is
// the startup's; the caller moves it to auth or server when the exchange got that far.
func startupFailure(err error, h startupExchange, noPassword bool) *failure {
	method := strings.Join(h.methods, ", ")
	asked := len(h.methods) > 0 && !h.afterPassword && !h.authOK // asked for a method, and nothing was sent
	var f *failure
	var pgErr *pgconn.PgError
	switch {
	case h.garbage != nil:
		f = notPostgres(StageStartup, h.garbage)
	case errors.As(err, &pgErr):
		f = serverFailure(StageStartup, pgErr.Severity, pgErr.Code, pgErr.Message, pgErr.Detail)
	case noPassword && asked:
		// The server asked for a password and require_auth stopped pgx before it sent one.
		f = &failure{stage: StageStartup, code: catalog.AuthNoPassword, answered: true,
			evidence: fmt.Sprintf("the server asked for %s and no password was found; nothing was sent", method)}
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		f = &failure{stage: StageStartup, code: catalog.ServerUnresponsive,
			evidence: "the server did not finish the startup before the deadline: " + err.Error()}
	default:
		var limit *wirelimit.Error
		f = networkFailure(StageStartup, err, h.answered || errors.As(err, &limit))
		if f.code == catalog.Unknown && asked {
			// The server asked for a method and the client gave up without a word to the server: pgx cannot do it
			// (GSSAPI and SSPI need a provider pgtriage does not build in).
			f.code = catalog.AuthMethodUnsupported
			f.evidence = fmt.Sprintf("pg_hba.conf admits the client with %s, which pgtriage cannot do (%v); a client that supports it, such as psql built with GSSAPI, may connect", method, err)
		}
	}
	f.facts = f.facts.Merge(catalog.Facts{catalog.FactMethod: method})
	return f
}

// startupConfig is pgx's configuration for a startup over conn, already connected (and TLS done). Without a
// password, the password methods are refused before anything is sent, as libpq's "no password supplied".
func (a *attempt) startupConfig(p *prober, conn net.Conn) *pgconn.Config {
	cfg := p.settings.TargetConfig(a.d.ep.index) // libpq looks up the passfile for each host
	cfg.Fallbacks = nil
	cfg.TLSConfig = nil // TLS is already done on conn
	cfg.SSLNegotiation = ""
	cfg.ConnectTimeout = 0
	cfg.ValidateConnect = nil
	cfg.AfterConnect = nil
	cfg.OnNotice = nil
	host := a.d.ep.target.Host // the socket directory
	if a.d.network != "unix" {
		host = a.d.ip()
	}
	cfg.Host = host
	cfg.LookupFunc = func(context.Context, string) ([]string, error) { return []string{host}, nil }
	// pgx gets the connection as it is (a *tls.Conn after TLS, for channel binding) and reads and writes it through
	// the recording frontend.
	used := false
	cfg.DialFunc = func(context.Context, string, string) (net.Conn, error) {
		if used {
			return nil, errors.New("pgtriage opens one connection per attempt")
		}
		used = true
		return conn, nil
	}
	cfg.BuildFrontend = (&wire{rec: a.rec}).frontendBuilder
	noPassword := cfg.Password == ""
	if noPassword && cfg.RequireAuth == "" {
		cfg.RequireAuth = "!password,!md5,!scram-sha-256"
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "pgtriage"
	}
	return cfg
}

// cleartextFinding warns that the password crossed the network in clear text: the server asked for it that way
// (pg_hba.conf method password) on a TCP connection without TLS, and the client sent it, whatever came next.
func (a *attempt) cleartextFinding(p *prober, methods []string, afterPassword bool) {
	if !afterPassword || a.tls != nil || a.d.network != "tcp" || !slices.Contains(methods, authNames[3]) {
		return
	}
	c := catalog.Lookup(catalog.AuthCleartextPassword)
	facts := p.facts(a.d, nil)
	a.findings = append(a.findings, Finding{Code: string(c.Code), Severity: "warning", Summary: c.SummaryFor(facts), Steps: c.Steps(facts)})
}

// tlsAdmits opens one more connection, over TLS, and sends the same startup message without any password, to learn
// whether pg_hba.conf would admit the client over TLS. The certificate is not checked: nothing secret is sent.
func (p *prober) tlsAdmits(ctx context.Context, d *dialed, cfg *pgconn.Config) bool {
	conn, err := d.redial(ctx)
	if err != nil {
		return false
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	rec := &recorder{tracer: p.tr}
	p.tr.event("-", "testing whether pg_hba.conf admits this client over TLS (no password is sent)")
	if neg, f := requestTLS(conn, rec, deadline, time.Until(deadline)); f != nil || neg != tlsAccepted {
		return false
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: cfg.Host}) // admission test only
	params := map[string]string{"user": cfg.User, "database": cfg.Database, "application_name": "pgtriage"}
	fe := wirelimit.Frontend(tc, tc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: params})
	if err := fe.Flush(); err != nil {
		return false
	}
	msg, err := fe.Receive()
	if err != nil {
		return false
	}
	p.tr.event("<", "over TLS the server answers %T", msg)
	switch msg.(type) {
	case *pgproto3.ErrorResponse:
		return false
	case *pgproto3.AuthenticationOk, *pgproto3.AuthenticationSASL, *pgproto3.AuthenticationMD5Password,
		*pgproto3.AuthenticationCleartextPassword, *pgproto3.AuthenticationGSS:
		return true
	}
	return false
}

// watchSilence covers a startup without SSLRequest (sslmode=disable or allow), where no SSLRequest told PostgreSQL from another service: a peer that says
// nothing to the startup message for a while is identified on a second connection (SSLRequest and the nudge), and
// when it is not PostgreSQL the startup is cancelled at once instead of waiting for the deadline. identified returns
// that verdict, or nil.
func (p *prober) watchSilence(ctx context.Context, a *attempt) (context.Context, func() *failure) {
	if !a.plain || a.d.network != "tcp" {
		return ctx, func() *failure { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu      sync.Mutex
		verdict *failure
		side    net.Conn // the second connection, closed when the startup ends first
		stopped bool
	)
	done := make(chan struct{})
	timer := time.AfterFunc(p.nudgeAfter(), func() {
		defer close(done)
		if a.rec.heardBack() {
			return
		}
		conn, err := a.d.redial(ctx)
		if err != nil {
			return
		}
		defer conn.Close()
		mu.Lock()
		side = conn
		if stopped {
			mu.Unlock()
			return
		}
		mu.Unlock()
		deadline, _ := ctx.Deadline()
		p.tr.event("-", "no answer to the startup message after %s: asking %s what it is on a second connection", p.nudgeAfter(), a.d.address)
		if _, f := requestTLS(conn, &recorder{tracer: p.tr}, deadline, p.nudgeAfter()); f != nil && f.code == catalog.ProtocolNotPostgres {
			f.stage = StageStartup
			mu.Lock()
			verdict = f
			mu.Unlock()
			cancel()
		}
	})
	return ctx, func() *failure {
		if !timer.Stop() {
			// The question is under way: cut it short and wait, so that nothing outlives the attempt.
			mu.Lock()
			stopped = true
			if side != nil {
				_ = side.Close()
			}
			mu.Unlock()
			<-done
		}
		cancel()
		mu.Lock()
		defer mu.Unlock()
		return verdict
	}
}
