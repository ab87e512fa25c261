package catalog

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// producedBy names, for a code without an entry in the explain corpus, the test that makes a real peer produce it
// and checks it did, as "dir/file_test.go:TestName" from the repository's root. A new code comes with a corpus entry
// (testdata/explain/corpus.jsonl, with its source) or with a line here.
var producedBy = map[Code]string{
	TLSClientCertRequired:  "probe/probe_test.go:TestClientCertificates",
	AuthNoConnectPrivilege: "probe/probe_test.go:TestNoConnectPrivilege",
	TxSerializationFailure: "retry/tx_test.go:TestTxRetriesSerializationFailure",
	TxDeadlock:             "retry/tx_test.go:TestTxRetriesDeadlock",
	// The text alone is the server's 28P01; only check, which sees the pooler accept the client first, tells it.
	PoolerServerLoginFailed: "probe/pooler_test.go:TestThroughPgBouncer",
	// The network in between: DNS answers, kernels and tokens the tests make, no server message.
	DNSPrivateZoneNotLinked: "probe/network_test.go:TestPrivateEndpointDNS",
	DNSPrivateAddress:       "probe/network_test.go:TestPrivateEndpointDNS",
	AuthTokenExpired:        "probe/network_test.go:TestTokenPasswords",
	AuthTokenExpiring:       "probe/network_test.go:TestTokenPasswords",
	AuthTokenWrongAudience:  "probe/network_test.go:TestTokenPasswords",
	NetIdleCut:              "probe/idle_test.go:TestIdleCut",
	NetMTUBlackhole:         "probe/network_test.go:TestMTUBlackhole",
	NetIPv6OnlyServer:       "probe/network_test.go:TestAddressFamilies",
	NetIPv4OnlyServer:       "probe/network_test.go:TestAddressFamilies",
	ProtocolMisbehaving:     "probe/hostile_test.go:TestHostileServers",
	AuthCleartextPassword:   "probe/probe_test.go:TestCleartextPassword",
}

// Every code but ok and unknown is seen in a real message: an entry of the explain corpus, or a test that produces
// it (producedBy) and names it.
func TestEveryCodeIsExercised(t *testing.T) {
	inCorpus := corpusCodes(t)
	names := codeNames(t)
	for _, c := range All() {
		if c.Code == OK || c.Code == Unknown {
			continue
		}
		ref, listed := producedBy[c.Code]
		switch {
		case inCorpus[c.Code] && listed:
			t.Errorf("%s: has corpus entries; remove it from producedBy", c.Code)
		case inCorpus[c.Code]:
		case !listed:
			t.Errorf("%s: no entry in testdata/explain/corpus.jsonl and no test in producedBy produces it; add a real message with its source, or a test", c.Code)
		default:
			if err := testNames(ref, c.Code, names[c.Code]); err != "" {
				t.Errorf("%s: producedBy %s: %s", c.Code, ref, err)
			}
		}
	}
}

// corpusCodes are the codes of the explain corpus's entries.
func corpusCodes(t *testing.T) map[Code]bool {
	f, err := os.Open(filepath.Join("..", "testdata", "explain", "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	codes := map[Code]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ Code Code }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		codes[e.Code] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return codes
}

// codeNames maps each code to the name of its constant in causes.go.
func codeNames(t *testing.T) map[Code]string {
	names := map[Code]string{}
	for _, file := range []string{"causes.go", "poolers.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^\s+(\w+)\s+Code = "([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
			names[Code(m[2])] = m[1]
		}
	}
	return names
}

// testNames says what is wrong with a producedBy reference ("" when nothing): the test must exist and name the code,
// by its constant or its text.
func testNames(ref string, code Code, constant string) string {
	file, name, ok := strings.Cut(ref, ":")
	if !ok || !strings.HasPrefix(name, "Test") {
		return `want "dir/file_test.go:TestName"`
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", filepath.FromSlash(file)), nil, 0)
	if err != nil {
		return err.Error()
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != name {
			continue
		}
		named := false
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "catalog" && n.Sel.Name == constant {
					named = true
				}
			case *ast.BasicLit:
				named = named || n.Kind == token.STRING && n.Value == `"`+string(code)+`"`
			}
			return !named
		})
		if !named {
			return "the test does not name " + string(code)
		}
		return ""
	}
	return "no such test"
}
