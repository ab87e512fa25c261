package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/termtext"
)

type proxyOptions struct {
	listen, upstream, control         string
	controlTokenFile                  string
	tlsCert, tlsKey                   string
	noClientTLS                       bool
	upstreamSSLMode, upstreamRootCert string
	faults                            []string
	format                            string
	seed                              uint64
}

func newProxyCmd() *cobra.Command {
	var opts proxyOptions
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream HOST:PORT",
		Short: "Run a PostgreSQL proxy that injects faults, to rehearse failures",
		Long: `proxy sits between an application and a PostgreSQL server and injects the faults applications
meet in production: the exact startup errors a server sends (too many clients, starting up,
shutting down, recovery, password, pg_hba, unknown role or database), refused, silent and reset
connections, terminated sessions (57P01, 57P02), latency, a read-only primary and a slow network.
Point the application at --listen and change faults at run time through the HTTP control API on
--control:

  GET /faults            the faults in force
  POST /faults           add one (JSON, as below); answers it with its id
  DELETE /faults/{id}    remove one
  DELETE /faults         remove all
  GET /sessions          {"sessions": N}

A fault is JSON: {"kind": "error", "cause": "server.starting_up", "share": 0.5}. Kinds: refuse,
blackhole, reset (at accept|startup|bytes, bytes N), error (cause: a catalog code), terminate
(cause 57P01 or 57P02; acts once on the live sessions), latency (delay "250ms", direction
upstream|downstream|both), read_only, trickle (rate bytes/s), lose_answer (statement, default
COMMIT; count N: the answer to a successful query is dropped and the client closed). share is the
fraction of connections affected (default all). --fault adds faults at start.

Clients that ask for TLS get it, with --tls-cert/--tls-key or a self-signed certificate made at
start. The proxy prints one line per event (accepted, session, fault, closed); it never prints
passwords. It runs until interrupted.

The control API answers only requests that name its own address (a loopback address or localhost)
and come from no web page of another site, and a POST only with Content-Type: application/json.
On any address but loopback it needs a token, read from --control-token-file or the environment
variable PGTRIAGE_CONTROL_TOKEN (never from the command line, which other users can read); every
request must then send "Authorization: Bearer TOKEN".`,
		Example: `  # In front of a local server, faults changed with curl
  pgtriage proxy --listen 127.0.0.1:6432 --upstream 127.0.0.1:5432 --control 127.0.0.1:6433
  curl -s -H 'Content-Type: application/json' -d '{"kind":"error","cause":"server.starting_up"}' localhost:6433/faults
  curl -s -X DELETE localhost:6433/faults

  # Half of the new connections get "too many clients" from the start
  pgtriage proxy --listen :6432 --upstream db:5432 --fault '{"kind":"error","cause":"limits.too_many_connections","share":0.5}'

  # TLS to a managed server, verified against its CA
  pgtriage proxy --listen 127.0.0.1:6432 --upstream pg.example.com:5432 \
    --upstream-sslmode verify-full --upstream-sslrootcert ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, _, stop := untilSignalled(cmd.Context(), nil)
			defer stop()
			return runProxy(ctx, cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.listen, "listen", "127.0.0.1:6432", "address to accept clients on (port 0 picks a free one)")
	f.StringVar(&opts.upstream, "upstream", "", "the server's host:port")
	f.StringVar(&opts.control, "control", "", "address of the HTTP control API, such as 127.0.0.1:6433 (default: none)")
	f.StringVar(&opts.controlTokenFile, "control-token-file", "", "file holding the token that every control API request must send (default: $PGTRIAGE_CONTROL_TOKEN); required off loopback")
	f.StringVar(&opts.tlsCert, "tls-cert", "", "certificate (PEM) presented to clients that ask for TLS (default: self-signed)")
	f.StringVar(&opts.tlsKey, "tls-key", "", "its private key (PEM)")
	f.BoolVar(&opts.noClientTLS, "no-client-tls", false, "answer SSLRequest with 'N', as a server without ssl")
	f.StringVar(&opts.upstreamSSLMode, "upstream-sslmode", "disable", "TLS to the upstream: disable, require, verify-ca or verify-full")
	f.StringVar(&opts.upstreamRootCert, "upstream-sslrootcert", "", "CA certificates (PEM) for verify-ca and verify-full (default: the system's)")
	f.StringArrayVar(&opts.faults, "fault", nil, "a fault in force from the start, as JSON (repeatable)")
	f.StringVar(&opts.format, "format", "text", "event lines: text or json")
	f.Uint64Var(&opts.seed, "seed", 0, "seed of the per-connection choice of faults with a share (default: random)")
	return cmd
}

// proxyConfig turns the flags into a faultproxy.Config.
func proxyConfig(opts proxyOptions) (faultproxy.Config, []faultproxy.Fault, error) {
	cfg := faultproxy.Config{Listen: opts.listen, Upstream: opts.upstream, NoClientTLS: opts.noClientTLS, Seed: opts.seed}
	if opts.upstream == "" {
		return cfg, nil, usageError("--upstream is required (host:port of the server)")
	}
	if err := checkFormat(opts.format); err != nil {
		return cfg, nil, err
	}
	if (opts.tlsCert == "") != (opts.tlsKey == "") {
		return cfg, nil, usageError("--tls-cert and --tls-key go together")
	}
	if opts.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.tlsCert, opts.tlsKey)
		if err != nil {
			return cfg, nil, usageError("--tls-cert/--tls-key: %w", err)
		}
		cfg.ClientTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	var roots *x509.CertPool
	if opts.upstreamRootCert != "" {
		pem, err := os.ReadFile(opts.upstreamRootCert)
		if err != nil {
			return cfg, nil, usageError("--upstream-sslrootcert: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return cfg, nil, usageError("--upstream-sslrootcert %s: no PEM certificate in it", opts.upstreamRootCert)
		}
	}
	switch opts.upstreamSSLMode {
	case "disable":
	case "require":
		cfg.UpstreamTLS = &tls.Config{InsecureSkipVerify: true}
	case "verify-ca":
		// As libpq: the chain is checked, the name is not.
		cfg.UpstreamTLS = &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}}
	case "verify-full":
		cfg.UpstreamTLS = &tls.Config{RootCAs: roots}
	default:
		return cfg, nil, usageError("--upstream-sslmode %q: must be disable, require, verify-ca or verify-full", opts.upstreamSSLMode)
	}
	var faults []faultproxy.Fault
	for _, s := range opts.faults {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		var f faultproxy.Fault
		if err := dec.Decode(&f); err != nil {
			return cfg, nil, usageError("--fault %s: %w", s, err)
		}
		faults = append(faults, f)
	}
	return cfg, faults, nil
}

func runProxy(ctx context.Context, out io.Writer, opts proxyOptions) error {
	cfg, faults, err := proxyConfig(opts)
	if err != nil {
		return err
	}
	lines := newEventPrinter(out, opts.format)
	defer lines.stop()
	cfg.OnEvent = lines.event
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := faultproxy.Start(startCtx, cfg)
	if err != nil {
		return &exitError{Code: 1, Err: err}
	}
	defer p.Close()
	for _, f := range faults {
		if _, err := p.Add(f); err != nil {
			return usageError("--fault: %w", err)
		}
	}
	lines.printf("listening on %s, upstream %s (sslmode %s)", p.Addr(), opts.upstream, opts.upstreamSSLMode)
	for _, f := range p.Faults() {
		lines.printf("fault %s in force: %s", f.ID, faultText(f))
	}
	if opts.control != "" {
		access, err := controlAccess(opts)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", opts.control)
		if err != nil {
			return &exitError{Code: 1, Err: fmt.Errorf("--control: %w", err)}
		}
		// What was bound decides, not the spelling: a name may resolve to anything, an empty host is every interface.
		if !ln.Addr().(*net.TCPAddr).IP.IsLoopback() && access.Token == "" {
			ln.Close()
			return usageError("--control %s listens on %s, not loopback: anyone who can reach it could inject faults; set a token with --control-token-file or PGTRIAGE_CONTROL_TOKEN, or use 127.0.0.1", opts.control, ln.Addr())
		}
		srv := &http.Server{Handler: logFaultChanges(p.Handler(access), lines), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
		served := make(chan struct{})
		go func() { defer close(served); srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			<-served
		}()
		lines.printf("control API on http://%s/faults", ln.Addr())
	}
	<-ctx.Done()
	lines.printf("stopping")
	return nil
}

// maxTokenFile bounds the token file; a token is a line.
const maxTokenFile = 4 << 10

// controlAccess is who may use the control API: the token from its file or the environment, and the host of
// --control as a name requests may use.
func controlAccess(opts proxyOptions) (faultproxy.ControlAccess, error) {
	var access faultproxy.ControlAccess
	host, _, err := net.SplitHostPort(opts.control)
	if err != nil {
		return access, usageError("--control %q: %w", opts.control, err)
	}
	access.Hosts = []string{strings.ToLower(host)}
	access.Token = os.Getenv("PGTRIAGE_CONTROL_TOKEN")
	if opts.controlTokenFile != "" {
		f, err := os.Open(opts.controlTokenFile)
		if err != nil {
			return access, usageError("--control-token-file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
		if err != nil {
			return access, usageError("--control-token-file: %w", err)
		}
		if len(b) > maxTokenFile {
			return access, usageError("--control-token-file %s: larger than %d bytes, not a token", opts.controlTokenFile, maxTokenFile)
		}
		access.Token = strings.TrimSpace(string(b))
		if access.Token == "" {
			return access, usageError("--control-token-file %s is empty", opts.controlTokenFile)
		}
	}
	return access, nil
}

// faultText is a fault as JSON, for the event lines.
func faultText(f faultproxy.Fault) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// logFaultChanges prints a line for every change made through the control API.
func logFaultChanges(next http.Handler, lines *eventPrinter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if r.Method != http.MethodGet {
			lines.printf("control: %s %s from %s: %d", r.Method, r.URL.Path, r.RemoteAddr, rec.status)
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// eventPrinter writes event lines from one goroutine, so that a slow
// standard output never blocks the proxy: when its queue is full, events are
// counted as dropped instead.
type eventPrinter struct {
	out     io.Writer
	json    bool
	queue   chan string
	done    chan struct{}
	mu      sync.Mutex
	dropped int
	closed  bool
}

func newEventPrinter(out io.Writer, format string) *eventPrinter {
	e := &eventPrinter{out: out, json: format == "json", queue: make(chan string, 4096), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for line := range e.queue {
			io.WriteString(e.out, line+"\n")
		}
	}()
	return e
}

func (e *eventPrinter) put(line string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	select {
	case e.queue <- line:
	default:
		e.dropped++
	}
}

func (e *eventPrinter) printf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if e.json {
		b, _ := json.Marshal(map[string]string{"time": time.Now().UTC().Format(time.RFC3339Nano), "type": "proxy", "detail": msg})
		e.put(string(b))
		return
	}
	e.put(time.Now().UTC().Format(time.RFC3339Nano) + " " + msg)
}

func (e *eventPrinter) event(ev faultproxy.Event) {
	if e.json {
		b, _ := json.Marshal(ev)
		e.put(string(b))
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s conn=%d client=%s %s", ev.Time.UTC().Format(time.RFC3339Nano), ev.Conn, ev.Client, ev.Type)
	for _, kv := range [][2]string{{"user", ev.User}, {"database", ev.Database}, {"application_name", ev.App},
		{"fault", ev.FaultID}, {"kind", string(ev.Kind)}, {"sqlstate", ev.Code}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	if ev.Detail != "" {
		fmt.Fprintf(&b, " (%s)", termtext.Escape(ev.Detail)) // a server's or client's words
	}
	e.put(b.String())
}

// stop prints what is queued and the count of dropped events.
func (e *eventPrinter) stop() {
	e.mu.Lock()
	e.closed = true
	dropped := e.dropped
	close(e.queue)
	e.mu.Unlock()
	<-e.done
	if dropped > 0 {
		fmt.Fprintf(e.out, "%d event lines dropped: standard output was too slow\n", dropped)
	}
}
