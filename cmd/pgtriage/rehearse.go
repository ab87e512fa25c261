package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/faultproxy/scenario"
	"github.com/pgtriage/pgtriage/internal/termtext"
)

func newRehearseCmd() *cobra.Command {
	var (
		listen, upstream, format, printName string
		upSSLMode, upRootCert               string
		speed                               float64
		warmup, cooldown                    time.Duration
		list                                bool
	)
	cmd := &cobra.Command{
		Use:   "rehearse SCENARIO|FILE --upstream HOST:PORT [--listen ADDR]",
		Short: "Play a failure scenario on a proxy while your application runs through it, and report what each client saw",
		Long: `rehearse starts a PostgreSQL-aware proxy in front of --upstream, waits --warmup for your
application (pointed at --listen) to connect, plays the scenario's timeline of faults, keeps watching
for --cooldown, and prints what each client experienced: sessions ended, errors sent by SQLSTATE,
when it was back after each disruption, and its longest time without a session while it tried.

SCENARIO is a built-in (` + strings.Join(scenario.Builtins(), ", ") + `) or a YAML file; print a
built-in with --print NAME to start your own. A client is the application_name its connections give
(set one per instance, e.g. orders-api-1), else user@database from its IP address. A connection
refused before it sends its startup message names nobody: it counts for the one client seen from its
address, or, when several share the address, under "unidentified from ADDRESS".

Exit codes: 0 every client that was disrupted was back by the end; 1 a client was not back, or no
client connected through the proxy; 3 invalid arguments or scenario file.`,
		Example: `  pgtriage rehearse --list
  pgtriage rehearse --print failover > my-failover.yaml
  pgtriage rehearse failover --upstream db.internal:5432 --listen 127.0.0.1:6432
  pgtriage rehearse my-failover.yaml --upstream 127.0.0.1:5432 --speed 5 --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			switch {
			case list:
				return listScenarios(out)
			case printName != "":
				src, ok := scenario.BuiltinSource(printName)
				if !ok {
					return usageError("no built-in scenario %q (built in: %s)", printName, strings.Join(scenario.Builtins(), ", "))
				}
				_, err := out.Write(src)
				return err
			}
			if len(args) != 1 {
				return &exitError{Code: usageExit, Err: errors.New("name a scenario (" + strings.Join(scenario.Builtins(), ", ") + ") or a scenario file")}
			}
			if err := checkFormat(format); err != nil {
				return err
			}
			if upstream == "" {
				return &exitError{Code: usageExit, Err: errors.New("--upstream HOST:PORT is required: the server the proxy forwards to")}
			}
			if _, _, err := net.SplitHostPort(upstream); err != nil {
				return usageError("--upstream %q: want HOST:PORT: %w", upstream, err)
			}
			if !(speed > 0) || math.IsInf(speed, 1) {
				return usageError("--speed %v: must be a number more than 0", speed)
			}
			s, err := loadScenario(cmd.InOrStdin(), args[0])
			if err != nil {
				return &exitError{Code: usageExit, Err: err}
			}
			cfg, _, err := proxyConfig(proxyOptions{listen: listen, upstream: upstream, upstreamSSLMode: upSSLMode, upstreamRootCert: upRootCert, format: "text"})
			if err != nil {
				return err
			}
			ctx, _, stop := untilSignalled(cmd.Context(), nil)
			defer stop()
			// The scenario file's words and the servers' errors reach the terminal: escaped (termtext).
			r, err := scenario.Rehearse(ctx, s, scenario.RehearseOptions{Proxy: cfg, Speed: speed, Warmup: warmup, Cooldown: cooldown, Log: termtext.Writer(cmd.ErrOrStderr())})
			if err != nil {
				return &exitError{Code: 1, Err: err}
			}
			if format == "json" {
				err = writeJSON(out, r)
			} else {
				err = r.WriteText(termtext.Writer(out))
			}
			if err != nil {
				return &exitError{Code: 1, Err: err} // standard output is gone
			}
			if len(r.Clients) == 0 {
				return &exitError{Code: 1, Err: errors.New("no client connected through the proxy: point your application at " + listen)}
			}
			for _, c := range r.Clients {
				if !c.Back {
					return &exitError{Code: 1, Err: fmt.Errorf("client %s was not back by the end", c.Client)}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:6432", "address the proxy accepts your application on")
	f.StringVar(&upstream, "upstream", "", "the PostgreSQL server the proxy forwards to, HOST:PORT")
	f.StringVar(&upSSLMode, "upstream-sslmode", "disable", "TLS to the upstream: disable, require, verify-ca or verify-full, as proxy; clients using TLS to the proxy then need channel_binding=disable")
	f.StringVar(&upRootCert, "upstream-sslrootcert", "", "CA certificates (PEM) for verify-ca and verify-full (default: the system's)")
	f.Float64Var(&speed, "speed", 1, "play the timeline this many times faster (the faults' own delays and rates are not scaled)")
	f.DurationVar(&warmup, "warmup", 5*time.Second, "time for the application to connect before the first step")
	f.DurationVar(&cooldown, "cooldown", 10*time.Second, "time to keep watching after the last step, for the clients to come back")
	f.StringVar(&format, "format", "text", "output format: text or json")
	f.StringVar(&printName, "print", "", "print the file of a built-in scenario, to copy and change")
	f.BoolVar(&list, "list", false, "list the built-in scenarios")
	return cmd
}

func listScenarios(w io.Writer) error {
	for _, name := range scenario.Builtins() {
		s, err := scenario.Builtin(name)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%-17s %4s  %s\n", name, s.Duration(), s.Description); err != nil {
			return err
		}
	}
	return nil
}

// loadScenario reads a built-in by name, else a file ("-" is standard input).
func loadScenario(stdin io.Reader, arg string) (*scenario.Scenario, error) {
	if _, ok := scenario.BuiltinSource(arg); ok {
		return scenario.Builtin(arg)
	}
	r := stdin
	if arg != "-" {
		f, err := os.Open(arg)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(arg, "./") {
				return nil, fmt.Errorf("%s: neither a built-in scenario (%s) nor a file", arg, strings.Join(scenario.Builtins(), ", "))
			}
			return nil, err
		}
		defer f.Close()
		r = f
	}
	// One byte more than a scenario may have, so that the parser can say the file is too big.
	data, err := io.ReadAll(io.LimitReader(r, scenario.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	return scenario.Parse(arg, data)
}
