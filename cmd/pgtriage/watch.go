package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/termtext"
	"github.com/pgtriage/pgtriage/watch"
)

func newWatchCmd(d deps) *cobra.Command {
	var (
		configFile, eventsFile, shard string
		format                        string
		web                           exporterFlags
		opts                          watch.Options
		duration                      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch [flags] [CONNSTRING...]",
		Short: "Watch servers over time: outages, their causes, and whether to wait or escalate",
		Long: `watch keeps a session open on each target (an empty query every interval, and a read always
pending, so a session the server ends is seen at once) and logs in afresh every few intervals (so
firewall, credential, TLS and connection-limit failures are seen too). Every failure is classified
through the catalog.

An outage runs from the first failure to the first success (retried every --retry meanwhile). Its
verdict is transient, or escalate when it lasted more than --escalate-after or the target had more
than --max-outages outages within --window; the next steps come with it. Server restarts, address
changes behind DNS, promotions and certificate changes are events too.

On a terminal a table is redrawn in place; elsewhere (a pipe, a log, a service's journal) a start line
names the targets and the interval at once, then each event is one plain line. --format json writes
every event as a JSON line on standard output instead. --events appends every event to a JSON Lines
file (continued on the next start: open outages go on); --events - is standard output, as --format
json. --web.listen-address serves Prometheus metrics, with TLS and basic auth from --web.config.file
(exporter-toolkit's format); /-/ready answers 200 once every target has a first result;
/probe?target=NAME checks one target of the config per request, as blackbox_exporter. --shard I/N
watches the targets of one shard (Prometheus's hashmod on the name). SIGINT, SIGTERM or the reader
of the output leaving stop watch cleanly, with a watch_stop event and the event log synced; SIGHUP
reloads --config (unchanged targets keep their sessions).

CONNSTRING is a URL or keyword/value settings as for check; --config lists targets in YAML:

  interval: 1s
  targets:
    - name: orders
      conn: "host=orders.db.internal user=monitor dbname=orders sslmode=verify-full"
      interval: 5s`,
		Example: `  pgtriage watch "host=db1 user=monitor" "host=db2 user=monitor"
  pgtriage watch --config fleet.yml --events events.jsonl --web.listen-address :9188
  pgtriage watch --interval 5s --login-every 12 service=orders
  pgtriage report events.jsonl -o report.html`,
		RunE: func(cmd *cobra.Command, args []string) error {
			intervalSet, loginEverySet := cmd.Flags().Changed("interval"), cmd.Flags().Changed("login-every")
			// load reads the targets (those of the shard to watch, and all of them for /probe); SIGHUP calls it
			// again, with a copy of the options, which a reload does not change.
			load := func(opts *watch.Options) (watched, all []watch.Target, modules map[string]watch.Module, err error) {
				all, modules, err = watchTargets(configFile, args, opts, intervalSet, loginEverySet)
				if err != nil || shard == "" {
					return all, all, modules, err
				}
				sh, err := watch.ParseShard(shard)
				if err != nil {
					return nil, nil, nil, err
				}
				if watched = sh.Keep(all); len(watched) == 0 {
					return nil, nil, nil, fmt.Errorf("--shard %s keeps none of the %d targets", shard, len(all))
				}
				return watched, all, modules, nil
			}
			watched, all, modules, err := load(&opts)
			if err != nil {
				return &exitError{Code: usageExit, Err: err}
			}
			if err := checkFormat(format); err != nil {
				return err
			}
			if eventsFile == "-" {
				format, eventsFile = "json", ""
			}
			opts.Resolver = d.resolver
			reload := func() ([]watch.Target, error) {
				o := opts
				w, _, _, err := load(&o)
				return w, err
			}
			if err := checkFormat(format); err != nil {
				return err
			}
			if eventsFile == "-" {
				format, eventsFile = "json", ""
			}
			return runWatch(cmd, watched, all, modules, reload, opts, format, eventsFile, web, duration)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML file listing the targets (name, conn, interval, login_every)")
	f.StringVar(&eventsFile, "events", "", "append every event to this JSON Lines file, continuing it if it exists; - for standard output")
	f.StringVar(&format, "format", "text", "standard output: text (a table on a terminal, a line per event elsewhere) or json (a JSON line per event)")
	web.register(f)
	f.StringVar(&shard, "shard", "", "watch only shard I/N of the targets: those whose name hashes to I modulo N with Prometheus's hashmod")
	f.DurationVar(&opts.Interval, "interval", time.Second, "time between two probes of the held session")
	f.IntVar(&opts.LoginEvery, "login-every", 10, "a fresh login every this many intervals")
	f.DurationVar(&opts.RetryInterval, "retry", 250*time.Millisecond, "retry period during an outage: how late an outage's end can be seen")
	f.DurationVar(&opts.EscalateAfter, "escalate-after", time.Minute, "an outage longer than this needs escalation")
	f.IntVar(&opts.MaxOutages, "max-outages", 1, "more outages than this within --window need escalation")
	f.DurationVar(&opts.Window, "window", 24*time.Hour, "the window of --max-outages")
	f.DurationVar(&opts.IdleProbe, "idle-probe", 0, "keep one more session idle this long between queries, keepalives off, to catch middle boxes that cut idle connections (0: off)")
	f.DurationVar(&opts.CertWarning, "cert-warning", 14*24*time.Hour, "warn when the server certificate expires within this time")
	f.DurationVar(&opts.LatencyEvery, "latency-every", time.Minute, "period of the latency summaries in the event log")
	f.DurationVar(&duration, "for", 0, "stop after this time (0: until interrupted)")
	return cmd
}

// startLine tells a log or a journal at once what is watched, before the first event (which may be minutes away
// while all is well).
func startLine(targets []watch.Target, opts watch.Options) string {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = termtext.Escape(t.Name) // a name comes from the settings: untrusted on a terminal
	}
	return fmt.Sprintf("%s pgtriage watch: %d target(s): %s; a probe every %s, a fresh login every %d; one line per event from here",
		time.Now().Format("15:04:05"), len(targets), strings.Join(names, ", "), opts.Interval, opts.LoginEvery)
}

// watchTargets reads the targets of the config file and of the arguments; with neither, the PG* environment, as
// check does. The config's interval and login_every apply unless given on the command line.
func watchTargets(configFile string, args []string, opts *watch.Options, intervalSet, loginEverySet bool) ([]watch.Target, map[string]watch.Module, error) {
	var targets []watch.Target
	var modules map[string]watch.Module
	if configFile != "" {
		c, err := watch.LoadConfig(configFile)
		if err != nil {
			return nil, nil, err
		}
		if targets, err = c.Resolve(); err != nil {
			return nil, nil, err
		}
		modules = c.Modules
		if c.Interval > 0 && !intervalSet {
			opts.Interval = c.Interval
		}
		if c.LoginEvery > 0 && !loginEverySet {
			opts.LoginEvery = c.LoginEvery
		}
	}
	if len(args) == 0 && configFile == "" {
		args = []string{""}
	}
	for _, a := range args {
		t, err := watch.LoadTarget(a)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, t)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--interval", opts.Interval}, {"--retry", opts.RetryInterval}, {"--escalate-after", opts.EscalateAfter},
		{"--window", opts.Window}, {"--cert-warning", opts.CertWarning}, {"--latency-every", opts.LatencyEvery}} {
		if d.v <= 0 {
			return nil, nil, fmt.Errorf("%s must be positive, not %s", d.name, d.v)
		}
	}
	if opts.IdleProbe < 0 {
		return nil, nil, fmt.Errorf("--idle-probe must not be negative, not %s", opts.IdleProbe)
	}
	if opts.LoginEvery < 1 || opts.MaxOutages < 1 {
		return nil, nil, errors.New("--login-every and --max-outages must be at least 1")
	}
	return targets, modules, nil
}

// runWatch watches targets; /probe answers for every target of the config (probeable), the shard's and others'.
// On SIGHUP the targets are read again (reload) and the watcher reloaded.
func runWatch(cmd *cobra.Command, targets, probeable []watch.Target, modules map[string]watch.Module, reload func() ([]watch.Target, error), opts watch.Options, format, eventsFile string, web exporterFlags, duration time.Duration) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	hup := make(chan struct{}, 1)
	ctx, _, stop := untilSignalled(cmd.Context(), func() {
		select {
		case hup <- struct{}{}:
		default: // a reload is already due
		}
	})
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	var view *View
	if format == "json" {
		enc := json.NewEncoder(out)
		opts.Sinks = append(opts.Sinks, watch.SinkFunc(func(ev eventlog.Event) error { return enc.Encode(ev) }))
	} else {
		view = NewView(out, escapeTerminal(out), useColor(out))
		if f, ok := out.(*os.File); ok {
			view.Size = func() (int, int) { return terminalSize(f) }
		}
		opts.Sinks = append(opts.Sinks, view)
		if !view.tty {
			fmt.Fprintln(out, startLine(targets, opts))
		}
	}
	var log *eventlog.Log
	if eventsFile != "" {
		var hist *watch.History
		var err error
		if log, hist, err = watch.OpenLog(eventsFile); err != nil {
			return &exitError{Code: usageExit, Err: err}
		}
		defer log.Close()
		opts.History = hist
		opts.Sinks = append(opts.Sinks, log)
		if hist.Note != "" {
			fmt.Fprintln(errOut, "pgtriage watch:", hist.Note)
		}
	}
	opts.Metrics = watch.NewMetrics()
	opts.SinkError = func(_ watch.Sink, err error) {
		fmt.Fprintln(errOut, "pgtriage watch: an event was not written:", err)
	}
	opts.Metrics.Registry.MustRegister(buildInfo())
	w, err := watch.New(targets, opts)
	if err != nil {
		return &exitError{Code: usageExit, Err: err}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", opts.Metrics.Handler())
	mux.Handle("/probe", watch.ProbeHandler(probeable, modules, opts.Resolver))
	ex, err := startExporter(web, mux, w.Ready, errOut)
	if err != nil {
		return usageError("%w", err)
	}
	defer ex.stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			ts, err := reload()
			if err == nil {
				err = w.Reload(ts)
			}
			if err != nil {
				fmt.Fprintln(errOut, "pgtriage watch: SIGHUP: the targets are unchanged:", err)
				continue
			}
			fmt.Fprintf(errOut, "pgtriage watch: SIGHUP: %d targets\n", len(ts))
		}
	}()
	viewDone := make(chan struct{})
	go func() {
		defer close(viewDone)
		if view != nil {
			view.Run(ctx, w.Status)
		}
	}()
	err = w.Run(ctx)
	<-viewDone
	if log != nil {
		err = errors.Join(err, log.Close())
	}
	if err != nil {
		return &exitError{Code: 1, Err: err}
	}
	return nil
}
