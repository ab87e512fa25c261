package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var firewallTestdata = filepath.Join("..", "..", "firewall", "testdata")

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestFirewallText(t *testing.T) {
	flexible := filepath.Join(firewallTestdata, "az-flexible-list.json")
	azureRisk := "\nRisky rules:\n" +
		`  warning   "AllowAllAzureServicesAndResourcesWithinAzureIps_2024-5-2_10-1-7" (0.0.0.0): this is Azure's "Allow public access from any Azure service within Azure to this server": it admits connections from every Azure service, including other customers' subscriptions; allow your services' outbound addresses instead` + "\n"
	azureNote := `  - rule "AllowAllAzureServicesAndResourcesWithinAzureIps_2024-5-2_10-1-7" (0.0.0.0) admits connections from any Azure service: a client running in Azure may get in through it whatever its address` + "\n"
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
	}{
		{
			name:     "allowed",
			args:     []string{"firewall", "--rules", flexible, "--ip", "203.0.113.9"},
			wantCode: 0,
			wantOut:  `ALLOWED  203.0.113.9 is admitted by rule "office" (203.0.113.0-203.0.113.255)` + "\n" + azureRisk,
		},
		{
			name:     "denied, server and resource group from the ids",
			args:     []string{"firewall", "--rules", flexible, "--ip", "192.0.2.44"},
			wantCode: 1,
			wantOut: "DENIED   192.0.2.44 is admitted by no rule in " + flexible + " (3 rules)\n" + azureRisk +
				"\nNotes:\n" + azureNote +
				"\nTo admit 192.0.2.44, run:\n" +
				"  az postgres flexible-server firewall-rule create --resource-group rg-prod --name pg-orders --rule-name allow-192-0-2-44 --start-ip-address 192.0.2.44 --end-ip-address 192.0.2.44\n" +
				"Firewall changes can take up to five minutes to apply.\n",
		},
		{
			name:     "flags override the ids; IPv4-mapped address unmapped",
			args:     []string{"firewall", "--rules", flexible, "--ip", "::ffff:192.0.2.44", "--server", "pg-other", "--resource-group", "rg-other"},
			wantCode: 1,
			wantOut: "DENIED   192.0.2.44 is admitted by no rule in " + flexible + " (3 rules)\n" + azureRisk +
				"\nNotes:\n" + azureNote +
				"\nTo admit 192.0.2.44, run:\n" +
				"  az postgres flexible-server firewall-rule create --resource-group rg-other --name pg-other --rule-name allow-192-0-2-44 --start-ip-address 192.0.2.44 --end-ip-address 192.0.2.44\n" +
				"Firewall changes can take up to five minutes to apply.\n",
		},
		{
			name:     "plain list on standard input, every match, placeholders",
			stdin:    "203.0.113.0/24\n203.0.113.7\n",
			args:     []string{"firewall", "--rules", "-", "--ip", "203.0.113.7"},
			wantCode: 0,
			wantOut: `ALLOWED  203.0.113.7 is admitted by rule "line 1" (203.0.113.0-203.0.113.255)` + "\n" +
				`         and by rule "line 2" (203.0.113.7)` + "\n",
		},
		{
			name:     "plain list, denied, placeholders in the command",
			stdin:    "203.0.113.0/24\n",
			args:     []string{"firewall", "--rules", "-", "--ip", "198.51.100.1"},
			wantCode: 1,
			wantOut: "DENIED   198.51.100.1 is admitted by no rule in standard input (1 rule)\n" +
				"\nTo admit 198.51.100.1, run:\n" +
				"  az postgres flexible-server firewall-rule create --resource-group <resource-group> --name <server> --rule-name allow-198-51-100-1 --start-ip-address 198.51.100.1 --end-ip-address 198.51.100.1\n" +
				"Firewall changes can take up to five minutes to apply.\n",
		},
		{
			name:     "plain list, IPv6 client denied: no command, and why",
			stdin:    "203.0.113.0/24\n",
			args:     []string{"firewall", "--rules", "-", "--ip", "[2001:db8::1]"},
			wantCode: 1,
			wantOut: "DENIED   2001:db8::1 is admitted by no rule in standard input (1 rule)\n" +
				"\nNotes:\n  - no Azure CLI command to give: 2001:db8::1 is an IPv6 address: Azure firewall rules take IPv4 addresses only\n",
		},
		{
			name:     "Single Server rules: open to everyone",
			args:     []string{"firewall", "--rules", filepath.Join(firewallTestdata, "az-single-list.json"), "--ip", "203.0.113.7"},
			wantCode: 0,
			wantOut: `ALLOWED  203.0.113.7 is admitted by rule "AllowAllIPs" (0.0.0.0-255.255.255.255)` + "\n" +
				"\nRisky rules:\n" +
				`  critical  "AllowAllIPs" (0.0.0.0-255.255.255.255): admits every IPv4 address: anyone on the internet can reach the server, and only the password stands in the way` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if errOut != "" {
				t.Errorf("stderr = %q, want nothing", errOut)
			}
		})
	}
}

func TestFirewallJSON(t *testing.T) {
	code, out, errOut := runCLI(t, `{"value": [
		{"id": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.DBforPostgreSQL/servers/old-pg/firewallRules/wide",
		 "name": "wide", "properties": {"startIpAddress": "10.0.0.0", "endIpAddress": "11.255.255.255"}}]}`,
		"firewall", "--rules", "-", "--ip", "203.0.113.7", "--format", "json")
	if code != 1 || errOut != "" {
		t.Fatalf("exit code %d, stderr %q; want 1 and nothing", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	want := map[string]any{
		"address":        "203.0.113.7",
		"allowed":        false,
		"rules_file":     "standard input",
		"rule_count":     1.0,
		"server":         "old-pg",
		"resource_group": "rg1",
		"matches":        []any{},
		"risky": []any{map[string]any{"name": "wide", "start": "10.0.0.0", "end": "11.255.255.255",
			"severity": "warning", "reason": "admits 33554432 addresses, more than a /8: is that meant?"}},
		"notes": []any{"these rules are from a Single Server: Azure retired Single Server on 28 March 2025 and " +
			"migrated such servers to flexible servers of the same name, which the command targets"},
		"command": "az postgres flexible-server firewall-rule create --resource-group rg1 --name old-pg --rule-name allow-203-0-113-7 --start-ip-address 203.0.113.7 --end-ip-address 203.0.113.7",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}

	// Allowed: matches listed, no command.
	code, out, _ = runCLI(t, "203.0.113.0/24\n", "firewall", "--rules", "-", "--ip", "203.0.113.7", "--format", "json")
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	var allowed struct {
		Allowed bool `json:"allowed"`
		Matches []struct {
			Name, Start, End string
		} `json:"matches"`
		Command string `json:"command"`
	}
	if err := json.Unmarshal([]byte(out), &allowed); err != nil {
		t.Fatal(err)
	}
	if !allowed.Allowed || len(allowed.Matches) != 1 || allowed.Matches[0].Name != "line 1" ||
		allowed.Matches[0].Start != "203.0.113.0" || allowed.Matches[0].End != "203.0.113.255" || allowed.Command != "" {
		t.Errorf("allowed JSON = %+v", allowed)
	}
}

func TestFirewallBadInput(t *testing.T) {
	rules := filepath.Join(firewallTestdata, "rules.txt")
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     string // the whole of stderr
	}{
		{"no --rules", "", []string{"firewall", "--ip", "203.0.113.7"},
			"pgtriage: --rules is required: a file of firewall rules, or \"-\" for standard input\n"},
		{"no --ip", "", []string{"firewall", "--rules", rules},
			"pgtriage: --ip is required: the client address the server sees (the host in \"no pg_hba.conf entry for host ...\")\n"},
		{"bad --ip", "", []string{"firewall", "--rules", rules, "--ip", "203.0.113.300"},
			"pgtriage: --ip \"203.0.113.300\": not an IP address\n"},
		{"--ip with a zone", "", []string{"firewall", "--rules", rules, "--ip", "fe80::1%eth0"},
			"pgtriage: --ip \"fe80::1%eth0\": a zone is local to this host and means nothing to the server\n"},
		{"--ip unspecified", "", []string{"firewall", "--rules", rules, "--ip", "0.0.0.0"},
			"pgtriage: --ip \"0.0.0.0\": the unspecified address is never a client address\n"},
		{"bad --format", "", []string{"firewall", "--rules", rules, "--ip", "203.0.113.7", "--format", "xml"},
			"pgtriage: --format must be text or json, not \"xml\"\n"},
		{"missing file", "", []string{"firewall", "--rules", "does-not-exist.json", "--ip", "203.0.113.7"},
			"pgtriage: open does-not-exist.json: no such file or directory\n"},
		{"malformed rules", "", []string{"firewall", "--rules", filepath.Join(firewallTestdata, "bad", "az-bad-address.json"), "--ip", "203.0.113.7"},
			"pgtriage: " + filepath.Join(firewallTestdata, "bad", "az-bad-address.json") + ": rule 3 (\"office\"): startIpAddress \"10.0.0.300\" is not an IP address\n"},
		{"malformed standard input", "10.0.0.1\nnot-an-address\n", []string{"firewall", "--rules", "-", "--ip", "203.0.113.7"},
			"pgtriage: standard input: line 2: range \"not-an-address\": \"not\" is not an IP address\n"},
		{"empty standard input", "", []string{"firewall", "--rules", "-", "--ip", "203.0.113.7"},
			"pgtriage: standard input: input is empty: expected Azure CLI JSON, ARM JSON, or a list of addresses\n"},
		{"unknown flag", "", []string{"firewall", "--rules", rules, "--ip", "203.0.113.7", "--bogus"},
			"pgtriage: unknown flag: --bogus (see pgtriage firewall --help)\n"},
		{"stray argument", "", []string{"firewall", "--rules", rules, "--ip", "203.0.113.7", "extra"},
			"pgtriage: unknown command \"extra\" for \"pgtriage firewall\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != usageExit {
				t.Errorf("exit code = %d, want %d", code, usageExit)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if errOut != tt.wantErr {
				t.Errorf("stderr\n got: %q\nwant: %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestFirewallHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "firewall", "--help")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	for _, want := range []string{
		"pgtriage firewall --rules rules.json --ip 203.0.113.7",
		"az postgres flexible-server firewall-rule list",
		"--format string",
		"Exit status: 0 the address is admitted, 1 it is not, 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}
