package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/firewall"
	"github.com/pgtriage/pgtriage/probe"
	"github.com/pgtriage/pgtriage/settings"
)

func newCheckCmd(deps deps) *cobra.Command {
	var format, rulesFile string
	var trace, quiet bool
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "check [flags] [CONNSTRING | DBNAME [USERNAME]]",
		Short: "Diagnose one connection layer by layer: settings, DNS, TCP, TLS, authentication, server",
		Long: `check connects the way libpq (psql) would and stops at the first layer that fails. It names
one cause code, says whether the failure is transient, shows the evidence and the next steps.

It takes psql's command line: -h, -p, -U, -d and a bare DBNAME [USERNAME]; without them it uses
the PG* environment and libpq's defaults, as psql does. CONNSTRING is a URL
(postgres://user@host:5432/db?sslmode=verify-full) or keyword/value settings
("host=db.example.com user=app dbname=orders"); as in psql, its values win over -h, -p, -U,
which win over a service file and the PG* environment. A password is never printed.

Exit codes, as pg_isready: 0 connected, 1 a PostgreSQL server answered but refused,
2 no PostgreSQL server answered, 3 no attempt (invalid settings).`,
		Example: `  pgtriage check
  pgtriage check -h 127.0.0.1 -p 5432 -U app -d orders
  pgtriage check orders app
  pgtriage check -q -t 3 -h db.example.com && echo up
  pgtriage check "postgres://app@db.example.com/orders?sslmode=verify-full"
  pgtriage check --format json "host=10.0.0.5 user=app connect_timeout=3"
  pgtriage check --trace service=orders
  pgtriage check --firewall-rules rules.json "host=orders.postgres.database.azure.com user=app"`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			var rules *firewall.RuleSet
			if rulesFile != "" {
				var err error
				if rules, err = readRules(cmd.InOrStdin(), rulesFile); err != nil {
					return &exitError{Code: usageExit, Err: err}
				}
			}
			connString, opts, err := conn.resolve(cmd, args)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if quiet {
				out = io.Discard
			}
			text := probe.TextOptions{Color: useColor(out)}
			var report *probe.Report
			s, err := settings.LoadWithOptions(connString, opts)
			switch {
			case err != nil:
				report = probe.Invalid("(invalid settings)", err)
				err = writeCheck(out, format, report, text)
			case format == "json":
				report = probe.Run(cmd.Context(), s, probe.Options{Resolver: deps.resolver, Trace: trace})
				report.Findings = append(report.Findings, firewallFindings(rules, report)...)
				err = writeJSON(out, report)
			default:
				// The header at once, each stage as it ends, the verdict last: a silent server shows where it hangs.
				progress := newStageProgress(out, s.Target(), text, isTerminal(out))
				report = probe.Run(cmd.Context(), s, probe.Options{Resolver: deps.resolver, Trace: trace, OnStage: progress.stage})
				progress.done()
				report.Findings = append(report.Findings, firewallFindings(rules, report)...)
				err = report.WriteBody(out, text)
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
	conn.add(cmd)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing; the exit code says it all (as pg_isready -q)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&trace, "trace", false, "show the protocol messages exchanged (never a password)")
	cmd.Flags().StringVar(&rulesFile, "firewall-rules", "", "server firewall rules (az ... firewall-rule list JSON, REST JSON or a CIDR list) to evaluate for the client address the server reports")
	return cmd
}

func writeCheck(w io.Writer, format string, r *probe.Report, opts probe.TextOptions) error {
	if format == "json" {
		return writeJSON(w, r)
	}
	return r.WriteText(w, opts)
}

// stageProgress shows a check's stages as they end. On a terminal a dim "running" line stands below the last
// finished stage until the next one ends.
type stageProgress struct {
	w    io.Writer
	opts probe.TextOptions
	tty  bool
}

const runningLine = "  … running"

func newStageProgress(w io.Writer, target string, opts probe.TextOptions, tty bool) *stageProgress {
	p := &stageProgress{w: w, opts: opts, tty: tty}
	probe.WriteHeader(w, target, opts)
	p.running()
	return p
}

func (p *stageProgress) running() {
	if p.tty {
		fmt.Fprint(p.w, runningLine)
	}
}

// clear erases the running line: back to the start of the line, erase to its end.
func (p *stageProgress) clear() {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func (p *stageProgress) stage(st probe.Stage) {
	p.clear()
	probe.WriteStage(p.w, st, p.opts)
	p.running()
}

func (p *stageProgress) done() { p.clear() }

// useColor: colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
func useColor(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return escapeTerminal(w)
}

// firewallFindings evaluates the server's firewall rules for the client address the server reported (in its
// pg_hba rejection, or once connected). Without such an address there is nothing to evaluate, and the finding says
// how to evaluate by hand.
func firewallFindings(rules *firewall.RuleSet, r *probe.Report) []probe.Finding {
	if rules == nil {
		return nil
	}
	client := r.Diagnosis.ClientAddress
	if client == "" && r.Server != nil {
		client = r.Server.ClientAddress
	}
	addr, err := netip.ParseAddr(client)
	if err != nil {
		return []probe.Finding{{Code: "firewall.no_client_address", Severity: "info", Summary: fmt.Sprintf(
			"the server did not report the client address, so the rules in %s were not evaluated: find your public address and run `pgtriage firewall --rules %s --ip ADDR`", rules.Source, rules.Source)}}
	}
	var out []probe.Finding
	v := rules.Check(addr)
	if v.Allowed {
		out = append(out, probe.Finding{Code: "firewall.allowed", Severity: "info", Summary: fmt.Sprintf(
			"%s: rule %s admits the client address %s", rules.Source, v.Matches[0], addr)})
	} else {
		summary := fmt.Sprintf("%s: no rule admits the client address %s the server saw", rules.Source, addr)
		if rules.Format != firewall.FormatText {
			if command, err := firewall.AzureAllowCommand(rules.Server, rules.ResourceGroup, addr); err == nil {
				summary += "; admit it with: " + command
			}
		}
		out = append(out, probe.Finding{Code: "firewall.denied", Severity: "warning", Summary: summary})
	}
	for _, n := range v.Notes {
		out = append(out, probe.Finding{Code: "firewall.note", Severity: "info", Summary: n})
	}
	for _, risk := range rules.Risks() {
		out = append(out, probe.Finding{Code: "firewall.risky_rule", Severity: "warning", Summary: fmt.Sprintf("rule %s: %s", risk.Rule, risk.Reason)})
	}
	return out
}
