package firewall

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var addrEqual = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func rule(name, start, end string) Rule {
	return Rule{Name: name, Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end)}
}

func parseFile(t *testing.T, path string) (*RuleSet, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Parse(f, filepath.Base(path))
}

func TestParseShapes(t *testing.T) {
	tests := []struct {
		file string
		want *RuleSet
	}{
		{"az-flexible-list.json", &RuleSet{
			Source: "az-flexible-list.json", Format: FormatAzureCLI, Server: "pg-orders", ResourceGroup: "rg-prod",
			Rules: []Rule{
				rule("office", "203.0.113.0", "203.0.113.255"),
				rule("ci-runner", "198.51.100.7", "198.51.100.7"),
				rule("AllowAllAzureServicesAndResourcesWithinAzureIps_2024-5-2_10-1-7", "0.0.0.0", "0.0.0.0"),
			},
		}},
		{"az-single-list.json", &RuleSet{
			Source: "az-single-list.json", Format: FormatAzureCLI, Server: "legacy-pg", ResourceGroup: "myResourceGroup",
			SingleServer: true,
			Rules:        []Rule{rule("AllowAllIPs", "0.0.0.0", "255.255.255.255")},
		}},
		{"az-show.json", &RuleSet{
			Source: "az-show.json", Format: FormatAzureCLI, Server: "pg-dev", ResourceGroup: "rg-dev",
			Rules: []Rule{rule("laptop", "192.0.2.10", "192.0.2.20")},
		}},
		{"arm-list.json", &RuleSet{
			Source: "arm-list.json", Format: FormatARM, Server: "exampleserver", ResourceGroup: "exampleresourcegroup",
			Rules: []Rule{
				rule("examplefirewallrule1", "10.0.0.0", "11.255.255.255"),
				rule("examplefirewallrule2", "203.0.113.7", "203.0.113.7"),
			},
		}},
		{"rules.txt", &RuleSet{
			Source: "rules.txt", Format: FormatText,
			Rules: []Rule{
				rule("line 3", "203.0.113.7", "203.0.113.7"),
				rule("line 4", "198.51.100.0", "198.51.100.255"),
				rule("line 5", "192.0.2.10", "192.0.2.20"),
				rule("line 6", "192.0.2.30", "192.0.2.40"),
				rule("line 7", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
				rule("line 8", "203.0.114.0", "203.0.114.255"),
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseFile(t, filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, addrEqual); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// Each bad input and the exact error it must give.
func TestParseErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"empty.txt", "empty.txt: input is empty: expected Azure CLI JSON, ARM JSON, or a list of addresses"},
		{"blank.txt", "blank.txt: input is empty: expected Azure CLI JSON, ARM JSON, or a list of addresses"},
		{"binary.txt", "binary.txt: input is binary, not text (byte 7)"},
		{"bad-address.txt", `bad-address.txt: line 3: "10.0.0.300" is not an IP address`},
		{"backwards.txt", "backwards.txt: line 1: start 10.0.0.9 is after end 10.0.0.1"},
		{"mixed-families.txt", "mixed-families.txt: line 1: start 10.0.0.1 and end 2001:db8::1 are of different address families"},
		{"bad-prefix.txt", `bad-prefix.txt: line 1: "10.0.0.0/33" is not a CIDR prefix`},
		{"three-fields.txt", `three-fields.txt: line 1: "10.0.0.1 10.0.0.2 10.0.0.3": expected an address, a CIDR prefix or a range "start-end"`},
		{"zone.txt", `zone.txt: line 1: "fe80::1%eth0": an address with a zone cannot be a firewall rule`},
		{"az-bad-address.json", `az-bad-address.json: rule 3 ("office"): startIpAddress "10.0.0.300" is not an IP address`},
		{"az-backwards.json", `az-backwards.json: rule 1 ("office"): startIpAddress 10.0.0.9 is after endIpAddress 10.0.0.1`},
		{"az-ipv6.json", `az-ipv6.json: rule 1 ("v6"): startIpAddress "2001:db8::1" is not an IPv4 address: Azure firewall rules take IPv4 addresses only`},
		{"az-missing.json", `az-missing.json: rule 1 ("half"): endIpAddress is missing`},
		{"az-number.json", `az-number.json: rule 1 ("num"): startIpAddress must be a string, not a number`},
		{"az-not-object.json", `az-not-object.json: rule 1: a rule must be a JSON object, not a string`},
		{"az-two-servers.json", `az-two-servers.json: rule 2 ("b"): belongs to server "two", the rules before it to "one": give the rules of one server`},
		{"arm-bad-address.json", `arm-bad-address.json: rule 1 ("r1"): properties.endIpAddress "10.0.0" is not an IP address`},
		{"arm-next-link.json", `arm-next-link.json: this is one page of a longer list ("nextLink" is set): fetch every page (az postgres flexible-server firewall-rule list does) and try again`},
		{"arm-value-string.json", `arm-value-string.json: "value" must be an array of rules, not a string`},
		{"object-no-rules.json", "object-no-rules.json: this is an Azure error response, not a rule list: ResourceNotFound: The Resource was not found."},
		{"syntax.json", "syntax.json: line 3, column 33: invalid JSON: invalid character ',' looking for beginning of object key string"},
		{"truncated.json", "truncated.json: invalid JSON: the input ends in the middle of a value"},
		{"two-values.json", "two-values.json: line 2, column 1: unexpected data after the JSON value"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			rs, err := parseFile(t, filepath.Join("testdata", "bad", tt.file))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", rs, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse error\n got: %s\nwant: %s", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error is %T, want *ParseError", err)
			}
		})
	}
	// Every fixture under testdata/bad is in the table, so none is forgotten.
	files, _ := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("testdata/bad/%s has no expected error in the table", filepath.Base(f))
		}
	}
}

func TestParseInline(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Rule
		wantErr  string
	}{
		{name: "comments only is an empty firewall", in: "# nothing allowed yet\n\n", want: nil},
		{name: "empty az list is an empty firewall", in: "[]", want: nil},
		{name: "CRLF and a byte-order mark", in: "\uFEFF10.0.0.1\r\n10.0.0.2 # two\r\n",
			want: []Rule{rule("line 1", "10.0.0.1", "10.0.0.1"), rule("line 2", "10.0.0.2", "10.0.0.2")}},
		{name: "range with spaces around the dash", in: "10.0.0.1 - 10.0.0.5", want: []Rule{rule("line 1", "10.0.0.1", "10.0.0.5")}},
		{name: "host bits in a prefix are masked", in: "10.1.2.3/16", want: []Rule{rule("line 1", "10.1.0.0", "10.1.255.255")}},
		{name: "/32", in: "203.0.113.7/32", want: []Rule{rule("line 1", "203.0.113.7", "203.0.113.7")}},
		{name: "/0", in: "0.0.0.0/0", want: []Rule{rule("line 1", "0.0.0.0", "255.255.255.255")}},
		{name: "IPv6 /0", in: "::/0", want: []Rule{rule("line 1", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}},
		{name: "IPv4-mapped range is unmapped", in: "::ffff:10.0.0.1-::ffff:10.0.0.9", want: []Rule{rule("line 1", "10.0.0.1", "10.0.0.9")}},
		{name: "IPv4-mapped /96 is all IPv4", in: "::ffff:0.0.0.0/96", want: []Rule{rule("line 1", "0.0.0.0", "255.255.255.255")}},
		{name: "IPv4-mapped prefix shorter than /96", in: "::ffff:0.0.0.0/95", wantErr: `x: line 1: "::ffff:0.0.0.0/95": an IPv4-mapped prefix must be /96 or longer`},
		{name: "IPv4-mapped in Azure JSON is unmapped", in: `[{"name":"m","startIpAddress":"::ffff:10.0.0.1","endIpAddress":"10.0.0.2"}]`,
			want: []Rule{rule("m", "10.0.0.1", "10.0.0.2")}},
		{name: "Azure rule without a name", in: `[{"startIpAddress":"10.0.0.1","endIpAddress":"10.0.0.1"}]`, want: []Rule{rule("rule 1", "10.0.0.1", "10.0.0.1")}},
		{name: "ARM template capitalisation", in: `{"value":[{"name":"t","properties":{"StartIpAddress":"10.0.0.1","EndIpAddress":"10.0.0.1"}}]}`,
			want: []Rule{rule("t", "10.0.0.1", "10.0.0.1")}},
		{name: "leading zeros are ambiguous", in: "010.0.0.1", wantErr: `x: line 1: "010.0.0.1" is not an IP address`},
		{name: "range with a bad end", in: "10.0.0.1-10.0.0.x", wantErr: `x: line 1: range "10.0.0.1-10.0.0.x": "10.0.0.x" is not an IP address`},
		{name: "two dashes", in: "10.0.0.1-10.0.0.2-10.0.0.3", wantErr: `x: line 1: range "10.0.0.1-10.0.0.2-10.0.0.3": "10.0.0.2-10.0.0.3" is not an IP address`},
		{name: "null address", in: `[{"name":"n","startIpAddress":null,"endIpAddress":"10.0.0.1"}]`, wantErr: `x: rule 1 ("n"): startIpAddress is missing`},
		{name: "bad type deep in ARM", in: `{"value":[{"name":"p","properties":{"startIpAddress":true}}]}`,
			wantErr: `x: rule 1 ("p"): properties.startIpAddress must be a string, not a boolean`},
		{name: "two resource groups", in: `[{"resourceGroup":"a","startIpAddress":"10.0.0.1","endIpAddress":"10.0.0.1"},{"resourceGroup":"b","startIpAddress":"10.0.0.1","endIpAddress":"10.0.0.1"}]`,
			wantErr: `x: rule 2: belongs to resource group "b", the rules before it to "a": give the rules of one server`},
		{name: "a huge line is cut short in the error", in: strings.Repeat("1", 100),
			wantErr: `x: line 1: "` + strings.Repeat("1", 64) + `"... (100 bytes) is not an IP address`},
		{name: "invalid UTF-8", in: "10.0.0.1\n\xff\xfe", wantErr: "x: input is binary, not text (byte 9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Parse(strings.NewReader(tt.in), "x")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse error\n got: %v\nwant: %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rs.Rules, addrEqual); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResourceIDFromOtherProvider(t *testing.T) {
	// A MySQL rule list has the same shape; its server must not end up in a PostgreSQL command.
	in := `[{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforMySQL/flexibleServers/my/firewallRules/r",
		"name":"r","startIpAddress":"10.0.0.1","endIpAddress":"10.0.0.1"}]`
	rs, err := Parse(strings.NewReader(in), "x")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Server != "" || rs.ResourceGroup != "rg" {
		t.Errorf("Server, ResourceGroup = %q, %q; want \"\", \"rg\"", rs.Server, rs.ResourceGroup)
	}
}

func TestParseTooLarge(t *testing.T) {
	// Valid text, one byte past the cap: the size is the error, not what lies beyond.
	line := []byte("10.0.0.1\n")
	big := bytes.Repeat(line, MaxInputSize/len(line)+1)
	_, err := Parse(bytes.NewReader(big), "huge.txt")
	want := "huge.txt: input is larger than 10 MiB: a firewall rule list is a few kilobytes"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse error = %v, want %q", err, want)
	}
	// The reader is not drained past the cap.
	r := &countingReader{r: io.MultiReader(bytes.NewReader(big), bytes.NewReader(big))}
	_, _ = Parse(r, "huge.txt")
	if r.n > MaxInputSize+1 {
		t.Errorf("Parse read %d bytes, want at most %d", r.n, MaxInputSize+1)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Parse(io.MultiReader(strings.NewReader("10.0.0.1\n"), errReader{boom}), "rules.txt")
	if !errors.Is(err, boom) || err.Error() != "rules.txt: boom" {
		t.Errorf("Parse error = %v, want rules.txt: boom wrapping the read error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
