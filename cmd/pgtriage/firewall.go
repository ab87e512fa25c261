package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/firewall"
)

type firewallOptions struct {
	rules, ip, server, resourceGroup, format string
}

func newFirewallCmd() *cobra.Command {
	var opts firewallOptions
	cmd := &cobra.Command{
		Use:   "firewall --rules FILE --ip ADDRESS",
		Short: "Check whether a server firewall admits a client address",
		Long: `firewall evaluates a managed server's firewall rules against a client address: is the client
admitted, by which rules, which rules expose the server more than they should, and the Azure CLI
command that would admit the client.

On Azure Database for PostgreSQL the firewall rejects a client with
  FATAL: no pg_hba.conf entry for host "203.0.113.7", user "app", database "orders", SSL
The host in that message is the address the server saw: give it to --ip.

--rules reads, and tells apart by their shape:
  - the JSON of "az postgres flexible-server firewall-rule list" (or "... show", or the retired
    Single Server's "az postgres server firewall-rule list");
  - the ARM REST API's JSON, {"value": [{"name": ..., "properties": {...}}]};
  - a plain list: one address, CIDR prefix (IPv4 or IPv6) or range "start-end" a line, # comments.
"-" reads standard input.

The server name and resource group in the command come from the rules' resource ids; --server and
--resource-group override them.

Exit status: 0 the address is admitted, 1 it is not, 3 the input could not be read or understood.`,
		Example: `  # Export the rules, then check the address from the error message
  az postgres flexible-server firewall-rule list --resource-group rg-prod --name pg-orders > rules.json
  pgtriage firewall --rules rules.json --ip 203.0.113.7

  # Pipe the rules in and get JSON for a script
  az postgres flexible-server firewall-rule list --resource-group rg-prod --name pg-orders |
    pgtriage firewall --rules - --ip 203.0.113.7 --format json

  # A plain list of prefixes and ranges
  printf '203.0.113.0/24\n198.51.100.7-198.51.100.9\n' | pgtriage firewall --rules - --ip 198.51.100.8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFirewall(cmd.InOrStdin(), cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.rules, "rules", "", `file of firewall rules (Azure CLI JSON, ARM JSON or a plain list); "-" for standard input`)
	f.StringVar(&opts.ip, "ip", "", "client address as the server sees it (the host in \"no pg_hba.conf entry for host ...\")")
	f.StringVar(&opts.server, "server", "", "Azure server name for the command (default: from the rules' ids)")
	f.StringVar(&opts.resourceGroup, "resource-group", "", "Azure resource group for the command (default: from the rules' ids)")
	f.StringVar(&opts.format, "format", "text", "output format: text or json")
	return cmd
}

// firewallReport is the JSON output; fields may be added, never renamed.
type firewallReport struct {
	Address       string         `json:"address"`
	Allowed       bool           `json:"allowed"`
	RulesFile     string         `json:"rules_file"`
	RuleCount     int            `json:"rule_count"`
	Server        string         `json:"server"`
	ResourceGroup string         `json:"resource_group"`
	Matches       []firewallRule `json:"matches"`
	Risky         []firewallRule `json:"risky"`
	Notes         []string       `json:"notes"`
	Command       string         `json:"command"` // empty when allowed, or when no rule can admit the address
}

type firewallRule struct {
	Name     string `json:"name"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Severity string `json:"severity,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func runFirewall(stdin io.Reader, stdout io.Writer, opts firewallOptions) error {
	if err := checkFormat(opts.format); err != nil {
		return err
	}
	if opts.rules == "" {
		return usageError(`--rules is required: a file of firewall rules, or "-" for standard input`)
	}
	if opts.ip == "" {
		return usageError(`--ip is required: the client address the server sees (the host in "no pg_hba.conf entry for host ...")`)
	}
	addr, err := parseClientAddr(opts.ip)
	if err != nil {
		return usageError("--ip %q: %w", opts.ip, err)
	}
	rs, err := readRules(stdin, opts.rules)
	if err != nil {
		return &exitError{Code: usageExit, Err: err}
	}
	server, group := rs.Server, rs.ResourceGroup
	if opts.server != "" {
		server = opts.server
	}
	if opts.resourceGroup != "" {
		group = opts.resourceGroup
	}

	v := rs.Check(addr)
	report := firewallReport{
		Address: v.Address.String(), Allowed: v.Allowed, RulesFile: rs.Source, RuleCount: len(rs.Rules),
		Server: server, ResourceGroup: group,
		Matches: []firewallRule{}, Risky: []firewallRule{}, Notes: append([]string{}, v.Notes...),
	}
	for _, r := range v.Matches {
		report.Matches = append(report.Matches, firewallRule{Name: r.Name, Start: r.Start.String(), End: r.End.String()})
	}
	for _, risk := range rs.Risks() {
		report.Risky = append(report.Risky, firewallRule{Name: risk.Rule.Name, Start: risk.Rule.Start.String(),
			End: risk.Rule.End.String(), Severity: string(risk.Severity), Reason: risk.Reason})
	}
	if !v.Allowed {
		cmd, err := firewall.AzureAllowCommand(server, group, v.Address)
		switch {
		case err != nil && rs.Format == firewall.FormatText: // for Azure JSON, Check has already said why
			report.Notes = append(report.Notes, fmt.Sprintf("no Azure CLI command to give: %v", err))
		case err == nil:
			report.Command = cmd
			if rs.SingleServer {
				report.Notes = append(report.Notes, "these rules are from a Single Server: Azure retired Single Server "+
					"on 28 March 2025 and migrated such servers to flexible servers of the same name, which the command targets")
			}
		}
	}

	if opts.format == "json" {
		if err := writeJSON(stdout, report); err != nil {
			return err
		}
	} else {
		writeFirewallText(stdout, report)
	}
	if !v.Allowed {
		return &exitError{Code: 1}
	}
	return nil
}

// parseClientAddr accepts an address as people paste it, also in brackets ("[2001:db8::1]").
func parseClientAddr(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return addr, errors.New("not an IP address")
	}
	if addr.Zone() != "" {
		return addr, errors.New("a zone is local to this host and means nothing to the server")
	}
	if addr.Unmap().IsUnspecified() {
		return addr, errors.New("the unspecified address is never a client address")
	}
	return addr, nil
}

func readRules(stdin io.Reader, path string) (*firewall.RuleSet, error) {
	if path == "-" {
		return firewall.Parse(stdin, "standard input")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return firewall.Parse(f, path)
}

func writeFirewallText(w io.Writer, r firewallReport) {
	if r.Allowed {
		m := r.Matches[0]
		fmt.Fprintf(w, "ALLOWED  %s is admitted by rule %q (%s)\n", r.Address, m.Name, rangeText(m))
		for _, m := range r.Matches[1:] {
			fmt.Fprintf(w, "         and by rule %q (%s)\n", m.Name, rangeText(m))
		}
	} else {
		rules := "rules"
		if r.RuleCount == 1 {
			rules = "rule"
		}
		fmt.Fprintf(w, "DENIED   %s is admitted by no rule in %s (%d %s)\n", r.Address, r.RulesFile, r.RuleCount, rules)
	}
	if len(r.Risky) > 0 {
		fmt.Fprintf(w, "\nRisky rules:\n")
		for _, risk := range r.Risky {
			fmt.Fprintf(w, "  %-8s  %q (%s): %s\n", risk.Severity, risk.Name, rangeText(risk), risk.Reason)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	if r.Command != "" {
		fmt.Fprintf(w, "\nTo admit %s, run:\n  %s\nFirewall changes can take up to five minutes to apply.\n", r.Address, r.Command)
	}
}

func rangeText(r firewallRule) string {
	if r.Start == r.End {
		return r.Start
	}
	return r.Start + "-" + r.End
}
