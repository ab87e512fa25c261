package firewall

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse anything: it must return rules that keep their invariants or an error, never panic. The seed
// corpus is every fixture under testdata plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	for _, path := range append(fixtures, bad...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	probes := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("::"), netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("2001:db8::1"),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse(bytes.NewReader(data), "fuzz")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, r := range rs.Rules {
			if !r.Start.IsValid() || r.Start.Is4() != r.End.Is4() || r.Start.Is4In6() || r.End.Is4In6() || r.Start.Compare(r.End) > 0 {
				t.Fatalf("rule breaks its invariants: %#v", r)
			}
			if r.Name == "" {
				t.Fatalf("rule without a name: %v", r)
			}
		}
		rs.Risks()
		for _, a := range probes {
			v := rs.Check(a)
			if v.Allowed != (len(v.Matches) > 0) {
				t.Fatalf("Allowed = %v with %d matches", v.Allowed, len(v.Matches))
			}
			_, _ = AzureAllowCommand(rs.Server, rs.ResourceGroup, v.Address)
		}
	})
}
