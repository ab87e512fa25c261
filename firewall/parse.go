package firewall

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxInputSize is the most Parse reads. A real rule list is a few kilobytes; anything near this is the wrong file.
const MaxInputSize = 10 << 20

// Format names the shape a rule list was written in.
type Format string

const (
	// FormatAzureCLI is the JSON that `az postgres flexible-server firewall-rule list` prints (and `... show`, and the
	// retired Single Server's `az postgres server firewall-rule list`): rules with top-level startIpAddress and
	// endIpAddress.
	FormatAzureCLI Format = "azure-cli"
	// FormatARM is the Azure Resource Manager REST API's JSON: {"value": [...]} of rules whose addresses sit under
	// "properties".
	FormatARM Format = "arm"
	// FormatText is a plain list: one address, CIDR prefix or range a line.
	FormatText Format = "text"
)

// RuleSet is a server's firewall: the rules and, when the input says so, which Azure server they belong to.
type RuleSet struct {
	Source string // the name given to Parse, for messages
	Format Format
	Rules  []Rule // in input order

	// Server and ResourceGroup come from the rules' Azure resource id (or the Azure CLI's resourceGroup field); empty
	// when the input does not say.
	Server        string
	ResourceGroup string
	// SingleServer is set when the rules belong to an Azure Database for PostgreSQL Single Server (the retired
	// service) rather than to a flexible server.
	SingleServer bool
}

// ParseError tells what is wrong with a rule list and where.
type ParseError struct {
	Source string // the name given to Parse
	Where  string // "line 4", `rule 3 ("office")`, "line 2, column 7"; empty when about the whole input
	Err    error
}

func (e *ParseError) Error() string {
	if e.Where == "" {
		return e.Source + ": " + e.Err.Error()
	}
	return e.Source + ": " + e.Where + ": " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a rule list and detects its shape: JSON from the Azure CLI (an array, or one rule), JSON from the ARM
// REST API ({"value": [...]}), or plain text (see the package documentation). name labels the input in errors,
// e.g. the file name. Bad input gives a *ParseError naming the line or the rule; Parse never reads more than
// MaxInputSize bytes.
func Parse(r io.Reader, name string) (*RuleSet, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fail := func(err error) (*RuleSet, error) { return nil, &ParseError{Source: name, Err: err} }
	if len(data) > MaxInputSize {
		return fail(fmt.Errorf("input is larger than %d MiB: a firewall rule list is a few kilobytes", MaxInputSize>>20))
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if at := binaryAt(data); at >= 0 {
		return fail(fmt.Errorf("input is binary, not text (byte %d)", at))
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return fail(errors.New("input is empty: expected Azure CLI JSON, ARM JSON, or a list of addresses"))
	}
	rs := &RuleSet{Source: name}
	if trimmed[0] == '[' || trimmed[0] == '{' {
		err = parseJSON(rs, data)
	} else {
		err = parseText(rs, data)
	}
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// binaryAt gives the offset of the first NUL byte or invalid UTF-8 sequence, or -1 when data is text.
func binaryAt(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == 0 || (r == utf8.RuneError && n == 1) {
			return i
		}
		i += n
	}
	return -1
}

// quote quotes a piece of the input for an error message, cut short so that a huge line makes a readable message.
func quote(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}
