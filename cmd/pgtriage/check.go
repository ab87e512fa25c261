package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/probe"
	"github.com/pgtriage/pgtriage/settings"
)

func newCheckCmd(deps deps) *cobra.Command {
	var format string
	var trace bool
	cmd := &cobra.Command{
		Use:   "check [flags] [CONNSTRING]",
		Short: "Diagnose one connection layer by layer: settings, DNS, TCP, TLS, authentication, server",
		Long: `check connects the way libpq (psql) would and stops at the first layer that fails. It names
one cause code, says whether the failure is transient, shows the evidence and the next steps.

Without CONNSTRING it uses the PG* environment and libpq's defaults, as psql does. CONNSTRING is a
URL (postgres://user@host:5432/db?sslmode=verify-full) or keyword/value settings
("host=db.example.com user=app dbname=orders"). A password is never printed.

Exit codes, as pg_isready: 0 connected, 1 a PostgreSQL server answered but refused,
2 no PostgreSQL server answered, 3 no attempt (invalid settings).`,
		Example: `  pgtriage check
  pgtriage check "postgres://app@db.example.com/orders?sslmode=verify-full"
  pgtriage check --format json "host=10.0.0.5 user=app connect_timeout=3"
  pgtriage check --trace service=orders`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &exitError{Code: usageExit, Err: fmt.Errorf("--format must be text or json, not %q", format)}
			}
			connString := ""
			if len(args) == 1 {
				connString = args[0]
			}
			var report *probe.Report
			s, err := settings.Load(connString)
			if err != nil {
				report = probe.Invalid("(invalid settings)", err)
			} else {
				report = probe.Run(cmd.Context(), s, probe.Options{Resolver: deps.resolver, Trace: trace})
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(report)
			} else {
				err = report.WriteText(out, probe.TextOptions{Color: useColor(out)})
			}
			if err != nil {
				return &exitError{Code: usageExit, Err: err}
			}
			if code := report.Status.ExitCode(); code != 0 {
				return &exitError{Code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&trace, "trace", false, "show the protocol messages exchanged (never a password)")
	return cmd
}

// useColor: colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
func useColor(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
