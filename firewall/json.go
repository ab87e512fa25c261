package firewall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// azureRule is one firewall rule as the Azure CLI prints it (addresses at the top) or as the ARM REST API returns it
// (addresses under "properties"). encoding/json matches keys without regard to case, as ARM templates need.
type azureRule struct {
	ID             string  `json:"id"`
	Name           string  `json:"name"`
	Type           string  `json:"type"`
	ResourceGroup  string  `json:"resourceGroup"`
	StartIPAddress *string `json:"startIpAddress"`
	EndIPAddress   *string `json:"endIpAddress"`
	Properties     *struct {
		StartIPAddress *string `json:"startIpAddress"`
		EndIPAddress   *string `json:"endIpAddress"`
	} `json:"properties"`
}

// armList is the ARM REST API's list response.
type armList struct {
	Value    json.RawMessage `json:"value"`
	NextLink string          `json:"nextLink"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func parseJSON(rs *RuleSet, data []byte) error {
	fail := func(where string, err error) error { return &ParseError{Source: rs.Source, Where: where, Err: err} }

	dec := json.NewDecoder(bytes.NewReader(data))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return jsonSyntaxError(rs.Source, data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(data, dec.InputOffset())
		return fail(fmt.Sprintf("line %d, column %d", line, col), errors.New("unexpected data after the JSON value"))
	}

	var elems []json.RawMessage
	rs.Format = FormatAzureCLI
	switch top[0] {
	case '[':
		if err := json.Unmarshal(top, &elems); err != nil {
			return fail("", fmt.Errorf("invalid JSON: %w", err))
		}
	case '{':
		var list armList
		if err := json.Unmarshal(top, &list); err != nil {
			return fail("", jsonTypeError("list", err))
		}
		switch {
		case list.Error != nil:
			return fail("", fmt.Errorf("this is an Azure error response, not a rule list: %s: %s", list.Error.Code, list.Error.Message))
		case len(list.Value) > 0 && !bytes.Equal(list.Value, []byte("null")):
			if list.Value[0] != '[' {
				return fail("", fmt.Errorf(`"value" must be an array of rules, not %s`, jsonKind(list.Value)))
			}
			if list.NextLink != "" {
				return fail("", errors.New(`this is one page of a longer list ("nextLink" is set): fetch every page `+
					`(az postgres flexible-server firewall-rule list does) and try again`))
			}
			if err := json.Unmarshal(list.Value, &elems); err != nil {
				return fail("", fmt.Errorf("invalid JSON: %w", err))
			}
			rs.Format = FormatARM
		default:
			elems = []json.RawMessage{top} // one rule, as `az ... firewall-rule show` prints it
		}
	}

	for i, elem := range elems {
		where := fmt.Sprintf("rule %d", i+1)
		var ar azureRule
		if err := json.Unmarshal(elem, &ar); err != nil {
			var named struct{ Name string }
			if json.Unmarshal(elem, &named) == nil && named.Name != "" {
				where = fmt.Sprintf("rule %d (%s)", i+1, quote(named.Name))
			}
			return fail(where, jsonTypeError("rule", err))
		}
		name := ar.Name
		if name == "" {
			name = where
		} else {
			where = fmt.Sprintf("rule %d (%s)", i+1, quote(name))
		}
		startField, endField, start, end := "startIpAddress", "endIpAddress", ar.StartIPAddress, ar.EndIPAddress
		if ar.Properties != nil {
			startField, endField = "properties.startIpAddress", "properties.endIpAddress"
			start, end = ar.Properties.StartIPAddress, ar.Properties.EndIPAddress
			rs.Format = FormatARM
		}
		startAddr, err := parseAzureAddr(startField, start)
		if err != nil {
			return fail(where, err)
		}
		endAddr, err := parseAzureAddr(endField, end)
		if err != nil {
			return fail(where, err)
		}
		if err := checkRange(startAddr, endAddr, startField, endField); err != nil {
			return fail(where, err)
		}
		if err := rs.noteServer(ar); err != nil {
			return fail(where, err)
		}
		rs.Rules = append(rs.Rules, Rule{Name: name, Start: startAddr, End: endAddr})
	}
	return nil
}

// parseAzureAddr reads one end of an Azure rule. Azure takes IPv4 addresses only, so an IPv6 address here is an
// error rather than a rule that Azure could never hold.
func parseAzureAddr(field string, s *string) (netip.Addr, error) {
	if s == nil {
		return netip.Addr{}, fmt.Errorf("%s is missing", field)
	}
	a, err := netip.ParseAddr(*s)
	if err != nil {
		return a, fmt.Errorf("%s %s is not an IP address", field, quote(*s))
	}
	if a.Zone() != "" || (a.Is6() && !a.Is4In6()) {
		return a, fmt.Errorf("%s %s is not an IPv4 address: Azure firewall rules take IPv4 addresses only", field, quote(*s))
	}
	return a.Unmap(), nil
}

// noteServer records the server the rule belongs to, and refuses rules of different servers in one list: their
// verdict would describe no real server.
func (rs *RuleSet) noteServer(ar azureRule) error {
	id := parseResourceID(ar.ID)
	group := id.resourceGroup
	if group == "" {
		group = ar.ResourceGroup
	}
	if id.server != "" {
		if rs.Server != "" && rs.Server != id.server {
			return fmt.Errorf("belongs to server %s, the rules before it to %s: give the rules of one server", quote(id.server), quote(rs.Server))
		}
		rs.Server = id.server
		rs.SingleServer = id.singleServer
	}
	if group != "" {
		if rs.ResourceGroup != "" && rs.ResourceGroup != group {
			return fmt.Errorf("belongs to resource group %s, the rules before it to %s: give the rules of one server", quote(group), quote(rs.ResourceGroup))
		}
		rs.ResourceGroup = group
	}
	return nil
}

// jsonSyntaxError turns a decoding error into a ParseError with the line and column, which people can find.
func jsonSyntaxError(source string, data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(data, syn.Offset)
		return &ParseError{Source: source, Where: fmt.Sprintf("line %d, column %d", line, col), Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &ParseError{Source: source, Err: errors.New("invalid JSON: the input ends in the middle of a value")}
	}
	return &ParseError{Source: source, Err: fmt.Errorf("invalid JSON: %w", err)}
}

// jsonTypeError says which field had a value of the wrong type; what names the value being decoded ("rule").
func jsonTypeError(what string, err error) error {
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) {
		return err
	}
	found := jsonTypeNames[typ.Value]
	if found == "" {
		found = typ.Value
	}
	if typ.Field == "" {
		return fmt.Errorf("a %s must be a JSON object, not %s", what, found)
	}
	want := jsonTypeNames[typ.Type.Kind().String()]
	if want == "" {
		want = typ.Type.String()
	}
	return fmt.Errorf("%s must be %s, not %s", typ.Field, want, found)
}

// jsonTypeNames names, for people, the JSON types of encoding/json's errors and the Go kinds we decode into.
var jsonTypeNames = map[string]string{
	"string": "a string", "number": "a number", "bool": "a boolean", "array": "an array", "object": "an object",
	"slice": "an array", "struct": "an object", "map": "an object",
}

// jsonKind names the type of a JSON value from its first byte.
func jsonKind(v json.RawMessage) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// position gives the 1-based line and column of the byte before offset: encoding/json reports errors after reading
// the offending byte.
func position(data []byte, offset int64) (line, col int) {
	at := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:at]
	line = bytes.Count(before, []byte("\n")) + 1
	col = at - bytes.LastIndexByte(before, '\n')
	return line, col
}
