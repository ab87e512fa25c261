package probe

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/settings"
)

// DefaultTimeout bounds each connection attempt when the settings give no connect_timeout.
const DefaultTimeout = 5 * time.Second

// Options change how a check runs. The zero value checks with the system resolver. Each stage's deadline is
// connect_timeout, as DESIGN.md says, or DefaultTimeout.
type Options struct {
	// Resolver looks up host names; nil means net.DefaultResolver. Tests pass one that asks their own DNS server.
	Resolver *net.Resolver
	// Trace keeps the protocol messages in the report.
	Trace bool
	// OnStage, when set, is called with each stage as it ends, in the report's order (the session's stages when its
	// attempt ends), so that a caller can show progress while a slow stage still runs.
	OnStage func(Stage)
	// Dial opens the connections; nil means a net.Dialer. Tests dial from inside a network namespace with it.
	Dial DialFunc
}

type prober struct {
	settings *settings.Settings
	resolver *net.Resolver
	timeout  time.Duration
	tr       *tracer
}

// nudgeAfter is how long an SSLRequest may go unanswered before the probe tries to make a non-PostgreSQL peer speak.
func (p *prober) nudgeAfter() time.Duration {
	return min(p.timeout/4, 500*time.Millisecond)
}

// TimeoutFor is the deadline of one connection attempt, and of each stage, for these settings: connect_timeout
// (which settings already raised to libpq's floor of 2 s), or DefaultTimeout.
func TimeoutFor(s *settings.Settings) time.Duration {
	if s.ConnectTimeout == 0 {
		return DefaultTimeout
	}
	return s.ConnectTimeout
}

// Run checks the connection the settings describe and returns the report. It never takes longer than the DNS,
// TCP and one deadline for each address that accepted a TCP connection.
func Run(ctx context.Context, s *settings.Settings, opts Options) *Report {
	p := &prober{settings: s, resolver: opts.Resolver, timeout: TimeoutFor(s), tr: &tracer{start: time.Now(), keep: opts.Trace}}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	r := &Report{Target: s.Target(), Settings: s.Params, Findings: []Finding{}}
	add := func(st ...Stage) {
		r.Stages = append(r.Stages, st...)
		if opts.OnStage != nil {
			for _, x := range st {
				opts.OnStage(x)
			}
		}
	}
	add(settingsStage(s, p.timeout))
	for _, w := range s.Warnings {
		r.Findings = append(r.Findings, Finding{Code: w.Code, Severity: "warning", Summary: w.Message})
	}

	eps := resolve(ctx, p.resolver, s.Targets, p.timeout, p.tr)
	var failures []*failure
	for _, ep := range eps {
		if ep.stage.Status != StageSkip || len(eps) > 1 {
			add(ep.stage)
		}
		if ep.fail != nil {
			failures = append(failures, ep.fail)
		}
		if n := ep.private; n != nil && n.code == catalog.DNSPrivateZoneNotLinked {
			r.Findings = append(r.Findings, Finding{Code: string(n.code), Severity: "warning", Summary: catalog.Lookup(n.code).SummaryFor(n.facts)})
		}
	}
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	dials := connectAll(ctx, eps, p.timeout, dial, p.tr)
	defer func() {
		for _, d := range dials {
			if d.conn != nil {
				_ = d.conn.Close()
			}
		}
	}()
	for _, d := range dials {
		add(d.stage)
	}

	// libpq's order: hosts as listed, addresses as resolved; the first that connects and suits
	// target_session_attrs wins.
	for _, d := range dials {
		if d.fail != nil {
			failures = append(failures, d.fail)
			continue
		}
		a := p.run(ctx, d)
		add(a.stages...)
		if a.fail == nil {
			r.Status = StatusOK
			r.Server = a.server
			r.Pooler = a.pooler
			r.Diagnosis = diagnose(catalog.Lookup(catalog.OK), nil, p.facts(d, a.server))
			r.Findings = append(r.Findings, a.findings...)
			// The addresses after this one were connected to as well: say which of them failed too.
			for _, later := range dials {
				if later.fail != nil && !slices.Contains(failures, later.fail) {
					failures = append(failures, later.fail)
				}
			}
			r.Findings = append(r.Findings, otherHostFindings(failures)...)
			break
		}
		failures = append(failures, a.fail)
	}
	if r.Status != StatusOK {
		f := addressFamilyFailure(privateEndpointFailure(decisive(failures), eps), dials)
		r.Status = StatusNoResponse
		if f.answered {
			r.Status = StatusRejected
		}
		if f.attempt != nil {
			r.Server = f.attempt.server
			r.Pooler = f.attempt.pooler
			r.Findings = append(r.Findings, f.attempt.findings...)
		}
		r.Diagnosis = diagnose(catalog.Lookup(f.code), f, p.facts(nil, r.Server).Merge(f.facts).Merge(catalog.Facts{catalog.FactAddress: f.address}).ForHost(f.host))
	}
	if opts.Trace {
		r.Trace = p.tr.trace()
	}
	return r
}

// Invalid is the report for settings that could not be used: config.invalid, no attempt made.
func Invalid(target string, err error) *Report {
	f := &failure{stage: StageSettings, code: catalog.ConfigInvalid, evidence: err.Error()}
	return &Report{
		Target:    target,
		Status:    StatusNoAttempt,
		Diagnosis: diagnose(catalog.Lookup(catalog.ConfigInvalid), f, catalog.Facts{}),
		Stages:    []Stage{{Name: StageSettings, Status: StageFail, Detail: err.Error()}},
		Findings:  []Finding{},
	}
}

func settingsStage(s *settings.Settings, timeout time.Duration) Stage {
	detail := []string{"sslmode=" + s.SSLMode}
	if s.Password.Found {
		detail = append(detail, "password from "+s.Password.Source.String())
		if len(s.Targets) > 0 {
			if t := tokenDetail(s.TargetConfig(0).Password); t != "" {
				detail = append(detail, t)
			}
		}
	} else {
		detail = append(detail, "no password")
	}
	if s.ConnectTimeout == 0 {
		detail = append(detail, fmt.Sprintf("no connect_timeout (using %s)", timeout))
	} else {
		detail = append(detail, "connect_timeout="+timeout.String())
	}
	if s.TargetSessionAttrs != "" && s.TargetSessionAttrs != "any" {
		detail = append(detail, "target_session_attrs="+s.TargetSessionAttrs)
	}
	st := Stage{Name: StageSettings, Status: StageOK, Detail: strings.Join(detail, "; ")}
	if len(s.Warnings) > 0 {
		st.Status = StageWarn
	}
	return st
}

// FactsOf are the facts the settings give for the catalog's steps: the role, database, sslmode, where a password
// was looked for, target_session_attrs, and the first host and port.
func FactsOf(s *settings.Settings) catalog.Facts {
	f := catalog.Facts{catalog.FactUser: s.User, catalog.FactDatabase: s.Database, catalog.FactSSLMode: s.SSLMode,
		catalog.FactLookedIn: strings.Join(s.Password.LookedIn, "; "), catalog.FactTSA: s.TargetSessionAttrs}
	if len(s.Targets) > 0 {
		f[catalog.FactPort] = fmt.Sprint(s.Targets[0].Port)
		f = f.ForHost(s.Targets[0].Host)
	}
	return f
}

// facts are what the steps may name: the settings', and the address tried and the client address the server saw.
func (p *prober) facts(d *dialed, srv *Server) catalog.Facts {
	f := FactsOf(p.settings)
	if d != nil {
		f = f.ForHost(d.ep.name())
		f[catalog.FactAddress] = d.ip()
	}
	if srv != nil {
		f[catalog.FactClientAddr] = srv.ClientAddress
	}
	return f
}

// decisive picks the failure that explains most: one where a PostgreSQL server answered beats one where nothing
// did (a refusal says more than a time-out), and otherwise the first in libpq's order.
func decisive(failures []*failure) *failure {
	if len(failures) == 0 {
		return &failure{stage: StageDNS, code: catalog.ConfigInvalid, evidence: "no host to connect to"}
	}
	for _, f := range failures {
		if f.answered {
			return f
		}
	}
	return failures[0]
}

// privateEndpointFailure names the private endpoint seen from the wrong side as the cause when nothing answered
// on its addresses: the time-out or refusal follows from the DNS answer, and the DNS answer is what to fix.
func privateEndpointFailure(f *failure, eps []*endpoint) *failure {
	if f.stage != StageTCP {
		return f
	}
	for _, ep := range eps {
		if ep.private != nil && ep.name() == f.host {
			g := *f
			g.code = ep.private.code
			g.facts = catalog.Facts{}.Merge(f.facts).Merge(ep.private.facts)
			g.evidence = "the DNS answer leads to " + f.address + ", which did not answer: " + f.evidence
			return &g
		}
	}
	return f
}

// otherHostFindings tells, after a success, which hosts or addresses failed on the way: a dead IPv6 path, a
// member of the cluster that is down.
func otherHostFindings(failures []*failure) []Finding {
	var out []Finding
	for _, f := range failures {
		where := f.host
		if f.endpoint != "" && f.endpoint != f.host {
			where += " (" + f.endpoint + ")"
		}
		out = append(out, Finding{Code: string(f.code), Severity: "warning",
			Summary: fmt.Sprintf("%s failed at the %s stage: %s", where, f.stage, f.evidence)})
	}
	return out
}
