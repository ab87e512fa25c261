package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// parseText reads one entry a line: an address, a CIDR prefix, or a range "start-end" or "start end". A '#' starts
// a comment; blank lines are skipped.
func parseText(rs *RuleSet, data []byte) error {
	rs.Format = FormatText
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		where := fmt.Sprintf("line %d", i+1)
		start, end, err := parseTextEntry(line)
		if err != nil {
			return &ParseError{Source: rs.Source, Where: where, Err: err}
		}
		rs.Rules = append(rs.Rules, Rule{Name: where, Start: start, End: end})
	}
	return nil
}

func parseTextEntry(s string) (start, end netip.Addr, err error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return start, end, fmt.Errorf("%s is not a CIDR prefix", quote(s))
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return start, end, fmt.Errorf("%s: an IPv4-mapped prefix must be /96 or longer", quote(s))
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		return p.Addr(), lastAddr(p), nil
	}
	var from, to string
	if a, b, ok := strings.Cut(s, "-"); ok {
		from, to = strings.TrimSpace(a), strings.TrimSpace(b)
	} else {
		fields := strings.Fields(s)
		switch len(fields) {
		case 1:
			from, to = fields[0], fields[0]
		case 2:
			from, to = fields[0], fields[1]
		default:
			return start, end, fmt.Errorf("%s: expected an address, a CIDR prefix or a range \"start-end\"", quote(s))
		}
	}
	if start, err = parseTextAddr(from); err == nil {
		end, err = parseTextAddr(to)
	}
	if err != nil && from != to {
		return start, end, fmt.Errorf("range %s: %w", quote(s), err)
	}
	if err != nil {
		return start, end, err
	}
	return start, end, checkRange(start, end, "start", "end")
}

func parseTextAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("%s is not an IP address", quote(s))
	}
	if a.Zone() != "" {
		return a, fmt.Errorf("%s: an address with a zone cannot be a firewall rule", quote(s))
	}
	return a.Unmap(), nil
}

// checkRange refuses ranges that run backwards or across families; the names say which fields they came from.
func checkRange(start, end netip.Addr, startName, endName string) error {
	if start.Is4() != end.Is4() {
		return fmt.Errorf("%s %s and %s %s are of different address families", startName, start, endName, end)
	}
	if start.Compare(end) > 0 {
		return fmt.Errorf("%s %s is after %s %s", startName, start, endName, end)
	}
	return nil
}

// lastAddr is the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b) // b has the length AsSlice gave it, so this cannot fail
	return a
}
