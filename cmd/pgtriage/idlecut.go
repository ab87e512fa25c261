package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/probe"
	"github.com/pgtriage/pgtriage/settings"
)

func newIdleCutCmd() *cobra.Command {
	var (
		format string
		opts   probe.IdleOptions
	)
	cmd := &cobra.Command{
		Use:   "idle-cut [flags] [CONNSTRING]",
		Short: "Find how long a connection may sit idle before something on the path cuts it",
		Long: `idle-cut finds the longest time a connection to the server may sit idle before a load
balancer, NAT gateway or firewall on the path forgets it, and tells a silent drop (the next query
hangs) from a reset. It names the likely middle box from the figure and prints the keepalive and
pool settings that stay under it.

Several sessions (--sessions) log in at once with TCP keepalives off and sit idle; idle times
from --min, each --ratio times the last, are tested on the session idle longest, one query each. The
first that fails ends the search: the cut lies between the last idle time survived and that one, so
the figure is within (ratio-1)/2 of it, and the search takes about ratio times the cut. Up to --max
it reports that no cut was found.

Exit codes: 0 no cut up to --max, 1 a cut was found, 2 no session could log in, 3 invalid settings.`,
		Example: `  pgtriage idle-cut "host=db.example.com user=app dbname=orders"
  pgtriage idle-cut --max 30m --format json service=orders`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if opts.Ratio != 0 && (opts.Ratio <= 1 || opts.Ratio > 4) {
				return &exitError{Code: usageExit, Err: fmt.Errorf("--ratio %g: want more than 1 and at most 4", opts.Ratio)}
			}
			if opts.Min <= 0 || opts.Max < opts.Min {
				return &exitError{Code: usageExit, Err: fmt.Errorf("--min %s, --max %s: want 0 < min <= max", opts.Min, opts.Max)}
			}
			if opts.Sessions < 1 || opts.Sessions > 64 {
				return &exitError{Code: usageExit, Err: fmt.Errorf("--sessions %d: want 1 to 64", opts.Sessions)}
			}
			connString := ""
			if len(args) == 1 {
				connString = args[0]
			}
			s, err := settings.Load(connString)
			if err != nil {
				return &exitError{Code: usageExit, Err: err}
			}
			// The whole run is bounded: the longest idle time, one answer deadline and the logins.
			ctx, cancel := context.WithTimeout(cmd.Context(), opts.Max+3*probe.TimeoutFor(s)+time.Minute)
			defer cancel()
			r := probe.FindIdleCut(ctx, s, opts)
			out := cmd.OutOrStdout()
			if format == "json" {
				err = writeJSON(out, r)
			} else {
				err = r.WriteText(out)
			}
			if err != nil {
				return &exitError{Code: usageExit, Err: err}
			}
			switch {
			case r.Error != "":
				return &exitError{Code: 2}
			case r.Kind != probe.CutNone:
				return &exitError{Code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "text", "output format: text or json")
	f.DurationVar(&opts.Max, "max", 15*time.Minute, "longest idle time to test")
	f.DurationVar(&opts.Min, "min", time.Second, "first idle time to test")
	f.Float64Var(&opts.Ratio, "ratio", 1.15, "factor between successive idle times: the precision of the figure")
	f.IntVar(&opts.Sessions, "sessions", 12, "sessions idle at once")
	return cmd
}
