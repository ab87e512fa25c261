package probe

import (
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/token"
)

// tokenProblem reads the password the attempt sends as an access token: what is wrong with it for this host,
// port and user now, or nil (an ordinary password, or a sound token).
func (p *prober) tokenProblem(d *dialed) *token.Problem {
	cfg := p.settings.TargetConfig(d.ep.index)
	info, ok := token.Inspect(cfg.Password)
	if !ok {
		return nil
	}
	return info.Check(d.ep.name(), d.ep.target.Port, cfg.User, time.Now())
}

// tokenVerdict puts what the token says before the server's generic refusal: an expired token or one for another
// audience or host explains "password authentication failed". A token that expires soon is a finding whatever the
// outcome.
func (a *attempt) tokenVerdict(p *prober) {
	prob := p.tokenProblem(a.d)
	if prob == nil {
		return
	}
	if prob.Code == catalog.AuthTokenExpiring {
		a.findings = append(a.findings, Finding{Code: string(prob.Code), Severity: "warning", Summary: prob.Evidence})
		return
	}
	if f := a.fail; f != nil {
		switch f.code {
		case catalog.AuthPasswordFailed, catalog.AuthRejected, catalog.AuthTokenInvalid:
			f.code = prob.Code
			f.evidence = prob.Evidence + "; the server said: " + f.evidence
			return
		}
	}
	// Accepted all the same (a clock off, a server that does not check), or refused for another reason.
	a.findings = append(a.findings, Finding{Code: string(prob.Code), Severity: "warning", Summary: prob.Evidence})
}

// tokenDetail describes the password of the first host when it is a token, for the settings stage.
func tokenDetail(cfgPassword string) string {
	info, ok := token.Inspect(cfgPassword)
	if !ok {
		return ""
	}
	return info.Describe()
}
