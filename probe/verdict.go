package probe

import (
	"fmt"

	"github.com/pgtriage/pgtriage/catalog"
)

// failure is why one stage stopped, before it becomes the verdict.
type failure struct {
	stage    StageName
	code     catalog.Code
	sqlstate string
	evidence string
	answered bool // a PostgreSQL server answered before the failure
	facts    catalog.Facts
	host     string // the host and address it happened on, for the steps and for findings
	address  string
	endpoint string   // address:port or socket path
	attempt  *attempt // the attempt that failed, when it got past tcp
	side     string   // SidePooler or SideServer when a pooler answered
}

// networkFailure classifies a Go network error through the catalog. A time-out before the TCP connection is a
// dropped SYN; after it, a server that does not answer.
func networkFailure(stage StageName, err error, answered bool) *failure {
	code := catalog.ClassifyError(err).Code
	if isTimeout(err) {
		code = catalog.TimeoutCode(stage != StageTCP && stage != StageDNS)
	}
	if stage == StageDNS && code != catalog.DNSNotFound {
		code = catalog.DNSFailed
	}
	return &failure{stage: stage, code: code, evidence: err.Error(), answered: answered}
}

// serverFailure classifies an error the server sent, by SQLSTATE and message.
func serverFailure(stage StageName, severity, sqlstate, message, detail string) *failure {
	c := catalog.Classify(catalog.Message{SQLState: sqlstate, Text: message + "\n" + detail})
	evidence := fmt.Sprintf("%s: %s (SQLSTATE %s)", severity, message, sqlstate)
	if detail != "" {
		evidence += " DETAIL: " + detail
	}
	return &failure{stage: stage, code: c.Code, sqlstate: sqlstate, evidence: evidence, answered: true,
		facts: catalog.Facts{catalog.FactClientAddr: catalog.ClientAddr(message)}}
}

// diagnose turns a cause and a failure into the verdict, with steps filled in from the facts.
func diagnose(c catalog.Cause, f *failure, facts catalog.Facts) catalog.Diagnosis {
	d := catalog.Diagnosis{Code: c.Code, Category: c.Category, Transient: c.Transient, Steps: c.Steps(facts), ClientAddress: facts[catalog.FactClientAddr]}
	d.Summary = c.SummaryFor(facts)
	if f != nil {
		d.SQLState = f.sqlstate
		d.Evidence = f.evidence
		d.Side = f.side
		if f.host != "" {
			where := f.host
			if f.address != "" && f.address != f.host {
				where += " (" + f.address + ")"
			}
			d.Evidence = where + ": " + d.Evidence
		}
	}
	if d.Steps == nil {
		d.Steps = []string{}
	}
	return d
}
