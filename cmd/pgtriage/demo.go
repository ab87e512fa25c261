package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/faultproxy/scenario"
	"github.com/pgtriage/pgtriage/internal/localpg"
	"github.com/pgtriage/pgtriage/probe"
	"github.com/pgtriage/pgtriage/settings"
)

// demoCase is one stop of the tour: a fault on the proxy and the check that runs through it.
type demoCase struct {
	name  string
	what  string            // what the fault stands for in production
	fault *faultproxy.Fault // nil: none
	// live, when set, is added once the check's session is up (while fault holds its first query back), as a
	// server ends a session right after the login: an administrator, a failover, a restart.
	live  *faultproxy.Fault
	extra []string // settings for this check only
}

// demoCases are the faults the tour shows, in the order of the layers a connection goes through.
func demoCases() []demoCase {
	errorCase := func(cause catalog.Code, what string) demoCase {
		return demoCase{name: "error " + string(cause), what: what, fault: &faultproxy.Fault{Kind: faultproxy.KindError, Cause: cause}}
	}
	return []demoCase{
		{name: "none", what: "the proxy passes everything through"},
		{name: "refuse", what: "the server is down: connections refused", fault: &faultproxy.Fault{Kind: faultproxy.KindRefuse}},
		{name: "blackhole", what: "a firewall drops the packets: no answer at all", fault: &faultproxy.Fault{Kind: faultproxy.KindBlackhole},
			extra: []string{"connect_timeout=2"}}, // libpq's smallest: only a deadline ends a silent server

		{name: "reset at accept", what: "a load balancer or NAT resets the connection", fault: &faultproxy.Fault{Kind: faultproxy.KindReset, At: faultproxy.AtAccept}},
		{name: "reset at startup", what: "the connection is reset right after the login", fault: &faultproxy.Fault{Kind: faultproxy.KindReset, At: faultproxy.AtStartup}},
		errorCase(catalog.ServerStartingUp, "a restart, scaling or failover in progress"),
		errorCase(catalog.ServerShuttingDown, "maintenance: the server is shutting down"),
		errorCase(catalog.ServerRecovery, "the server is recovering after a crash"),
		{name: "terminate 57P01", what: "the session ends right after the login (failover, pg_terminate_backend)",
			fault: &faultproxy.Fault{Kind: faultproxy.KindLatency, Delay: faultproxy.Duration(time.Second), Direction: faultproxy.Upstream},
			live:  &faultproxy.Fault{Kind: faultproxy.KindTerminate}},
		errorCase(catalog.LimitsTooManyConnections, "a connection storm took every slot"),
		errorCase(catalog.LimitsReservedSlots, "only the reserved slots are left"),
		errorCase(catalog.AuthPasswordFailed, "a wrong or rotated password"),
		{name: "error auth.hba_rejected", what: "the server's firewall (pg_hba.conf) rejects the client address",
			fault: &faultproxy.Fault{Kind: faultproxy.KindError, Cause: catalog.AuthHBARejected, ClientAddr: "203.0.113.7"}},
		errorCase(catalog.AuthRoleNotFound, "the role does not exist"),
		errorCase(catalog.DBNotFound, "the database does not exist"),
		{name: "read_only", what: "a failover left the application on a read-only server", fault: &faultproxy.Fault{Kind: faultproxy.KindReadOnly},
			extra: []string{"target_session_attrs=read-write"}},
		{name: "latency 150ms", what: "a slow network: every message waits 150 ms each way",
			fault: &faultproxy.Fault{Kind: faultproxy.KindLatency, Delay: faultproxy.Duration(150 * time.Millisecond)}},
	}
}

// demoResult is one line of the summary; its JSON is `pgtriage demo --format json`.
type demoResult struct {
	Fault     string           `json:"fault"`
	What      string           `json:"what"`
	Code      catalog.Code     `json:"code"`
	Category  catalog.Category `json:"category"`
	Transient bool             `json:"transient"`
	SQLState  string           `json:"sqlstate,omitempty"`
	Evidence  string           `json:"evidence,omitempty"`
	FirstStep string           `json:"first_step,omitempty"`
	Seconds   float64          `json:"seconds"`
}

func newDemoCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A tour: a throwaway local PostgreSQL, a fault proxy in front of it, and check's diagnosis of each fault",
		Long: `demo starts a throwaway PostgreSQL server on loopback (from Debian's postgresql package; as root it runs
as the postgres user), puts the fault proxy in front of it, and for each fault the proxy can inject runs
the same diagnosis as pgtriage check through it: the fault, the cause code check names, its category,
whether it is transient, and the first next step. It ends with a summary table and takes 10 to 15
seconds (13 s on a busy 2-core machine). It uses no network beyond loopback and removes everything it
started, also when stopped early: Ctrl-C, SIGTERM, SIGHUP, or the reader of its output leaving
(pgtriage demo | head -1).`,
		Example: `  pgtriage demo
  pgtriage demo --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			ctx, cancel, stop := untilSignalled(cmd.Context(), nil)
			defer stop()
			ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
			defer cancelTimeout()
			var progress io.Writer = stopOnWriteError{cmd.OutOrStdout(), cancel}
			if format == "json" {
				progress = io.Discard
			}
			report, err := runDemo(ctx, progress)
			if err != nil {
				return &exitError{Code: 1, Err: err}
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), report)
			}
			return writeDemoSummary(cmd.OutOrStdout(), report.Checks)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// demoPassword is the throwaway role's password; it never leaves loopback and the cluster is removed at the end.
const demoPassword = "demo-only-password"

// demoTarget is a local server with a fault proxy in front of it.
type demoTarget struct {
	proxy    *faultproxy.Proxy
	upstream string
	sessions chan struct{} // a session reached ReadyForQuery through the proxy
	conn     string        // connection string to the proxy, without connect_timeout
}

// startDemoTarget starts a local server and the proxy; close stops both and removes the server's files.
func startDemoTarget(ctx context.Context, log io.Writer) (t *demoTarget, close func(), err error) {
	c, err := localpg.Start(ctx, localpg.Options{Roles: []localpg.Role{{Name: "app", Password: demoPassword}}})
	if err != nil {
		if errors.Is(err, localpg.ErrNoServer) {
			err = fmt.Errorf("%w; on Debian: apt-get install postgresql", err)
		}
		return nil, nil, err
	}
	t, err = newDemoTarget(ctx, fmt.Sprintf("%s:%d", c.Host, c.Port))
	if err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	fmt.Fprintf(log, "PostgreSQL %d started on %s:%d (throwaway, in %s); fault proxy on %s in front of it\n\n", c.Version, c.Host, c.Port, c.Dir, t.proxy.Addr())
	return t, func() { _ = t.proxy.Close(); _ = c.Close() }, nil
}

// newDemoTarget starts a proxy in front of upstream, whose role app has demoPassword.
func newDemoTarget(ctx context.Context, upstream string) (*demoTarget, error) {
	t := &demoTarget{upstream: upstream, sessions: make(chan struct{}, 1)}
	p, err := faultproxy.Start(ctx, faultproxy.Config{Listen: "127.0.0.1:0", Upstream: upstream, DialTimeout: 2 * time.Second,
		OnEvent: func(e faultproxy.Event) {
			if e.Type == faultproxy.EventSession {
				select { // never block the proxy: one pending signal is enough
				case t.sessions <- struct{}{}:
				default:
				}
			}
		}})
	if err != nil {
		return nil, err
	}
	t.proxy = p
	host, port, _ := net.SplitHostPort(p.Addr())
	t.conn = demoConnString(host, port)
	return t, nil
}

func demoConnString(host, port string) string {
	return fmt.Sprintf("host=%s port=%s user=app password=%s dbname=postgres sslmode=prefer", host, port, demoPassword)
}

// connString is the check's connection string for a case: generous deadlines (SCRAM is slow on a loaded machine), and
// the case's own settings, which come last and so win.
func (t *demoTarget) connString(dc demoCase) string {
	return strings.Join(append([]string{t.conn, "connect_timeout=10"}, dc.extra...), " ")
}

// check puts the case's fault in force and runs the probe through the proxy, as `pgtriage check` would.
func (t *demoTarget) check(ctx context.Context, dc demoCase) (*probe.Report, error) {
	t.proxy.Clear()
	defer t.proxy.Clear()
	if dc.fault != nil {
		if _, err := t.proxy.Add(*dc.fault); err != nil {
			return nil, err
		}
	}
	s, err := settings.Load(t.connString(dc))
	if err != nil {
		return nil, err
	}
	if dc.live == nil {
		return probe.Run(ctx, s, probe.Options{}), nil
	}
	select { // a session left over from an earlier case must not count
	case <-t.sessions:
	default:
	}
	done := make(chan *probe.Report, 1)
	go func() { done <- probe.Run(ctx, s, probe.Options{}) }()
	select {
	case <-t.sessions:
		// The proxy treats a session as live before it reports it, so the fault finds it.
		if _, err := t.proxy.Add(*dc.live); err != nil {
			return <-done, err
		}
	case r := <-done:
		return r, nil // the check ended before its session was up: its verdict says why
	}
	return <-done, nil
}

// demoReport is the JSON of `pgtriage demo --format json`.
type demoReport struct {
	Checks    []demoResult        `json:"checks"`
	Rehearsal *scenario.Rehearsal `json:"rehearsal"`
}

// runDemo runs every case and the rehearsal, printing each as it goes.
func runDemo(ctx context.Context, log io.Writer) (*demoReport, error) {
	fmt.Fprintln(log, "pgtriage demo: each fault is put in force on the proxy, then pgtriage check runs through it.")
	t, closeTarget, err := startDemoTarget(ctx, log)
	if err != nil {
		return nil, err
	}
	defer closeTarget()
	var results []demoResult
	for i, dc := range demoCases() {
		start := time.Now()
		r, err := t.check(ctx, dc)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("demo stopped: %w", context.Cause(ctx))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dc.name, err)
		}
		res := demoResult{Fault: dc.name, What: dc.what, Code: r.Diagnosis.Code, Category: r.Diagnosis.Category,
			Transient: r.Diagnosis.Transient, SQLState: r.Diagnosis.SQLState, Evidence: r.Diagnosis.Evidence, Seconds: time.Since(start).Seconds()}
		if len(r.Diagnosis.Steps) > 0 {
			res.FirstStep = r.Diagnosis.Steps[0]
		}
		results = append(results, res)
		fmt.Fprintf(log, "%2d. %s: %s\n", i+1, dc.name, dc.what)
		fmt.Fprintf(log, "    check → %s (%s) in %s\n", res.Code, transience(res), time.Duration(res.Seconds*float64(time.Second)).Round(time.Millisecond))
		if res.Evidence != "" {
			fmt.Fprintf(log, "    evidence: %s\n", res.Evidence)
		}
		if res.FirstStep != "" {
			fmt.Fprintf(log, "    first step: %s\n", res.FirstStep)
		}
	}
	fmt.Fprintf(log, "\nRehearsal: the failover scenario, %gx faster, while a small application (one session running select 1\nevery 50 ms, reconnecting after a failure) runs through a proxy, as `pgtriage rehearse failover --speed %g` does:\n\n", demoSpeed, demoSpeed)
	r, err := demoRehearsal(ctx, t.upstream)
	if err != nil {
		return nil, fmt.Errorf("rehearsal: %w", err)
	}
	if err := r.WriteText(log); err != nil {
		return nil, err
	}
	return &demoReport{Checks: results, Rehearsal: r}, nil
}

// demoSpeed is how much faster than real time the demo plays its scenario.
const demoSpeed = 5.0

// demoRehearsal plays the failover scenario with demoApp running through the proxy.
func demoRehearsal(ctx context.Context, upstream string) (*scenario.Rehearsal, error) {
	s, err := scenario.Builtin("failover")
	if err != nil {
		return nil, err
	}
	appCtx, stopApp := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopApp(); wg.Wait() }()
	return scenario.Rehearse(ctx, s, scenario.RehearseOptions{Proxy: faultproxy.Config{Listen: "127.0.0.1:0", Upstream: upstream},
		Speed: demoSpeed, Warmup: 2 * time.Second, Cooldown: 2 * time.Second,
		Ready: func(_ context.Context, p *faultproxy.Proxy) error {
			host, port, err := net.SplitHostPort(p.Addr())
			if err != nil {
				return err
			}
			wg.Go(func() { demoApp(appCtx, demoConnString(host, port)+" application_name=demo-app connect_timeout=5") })
			return nil
		}})
}

// demoApp is the application of the demo's rehearsal: one session that runs select 1 every 50 ms and, when it
// fails, reconnects after 50 ms, until ctx ends.
func demoApp(ctx context.Context, connString string) {
	var conn *pgx.Conn
	for {
		select {
		case <-ctx.Done():
			if conn != nil {
				cctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = conn.Close(cctx)
				cancel()
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		var err error
		if conn == nil {
			if conn, err = pgx.Connect(ctx, connString); err != nil {
				conn = nil
				continue
			}
		}
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = conn.Exec(qctx, "select 1")
		cancel()
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(cctx)
			cancel()
			conn = nil
		}
	}
}

func transience(r demoResult) string {
	switch {
	case r.Code == catalog.OK:
		return "connected"
	case r.Transient:
		return string(r.Category) + ", transient"
	}
	return string(r.Category) + ", persistent"
}

func writeDemoSummary(w io.Writer, results []demoResult) error {
	fmt.Fprint(w, "\nSummary: fault on the proxy → what pgtriage check says\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  fault\tcheck\tcategory\ttransient\tsqlstate")
	for _, r := range results {
		transient := "no"
		if r.Transient {
			transient = "yes"
		}
		category := string(r.Category)
		if r.Code == catalog.OK {
			category, transient = "-", "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Fault, r.Code, category, transient, r.SQLState)
	}
	return tw.Flush()
}
