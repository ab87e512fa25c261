package eventlog

import (
	"fmt"
	"unicode/utf8"

	"github.com/pgtriage/pgtriage/catalog"
)

// MaxText is the most of one text field an event keeps. Evidence, notes and server facts come from servers and
// networks: a server that answers with a megabyte of error must not make a line too long to read back.
const MaxText = 4 << 10

// maxList is the most entries of a list of texts (steps, reasons) an event keeps.
const maxList = 64

// capText cuts s to MaxText bytes at a character boundary, and says how much was cut.
func capText(s string) string {
	if len(s) <= MaxText {
		return s
	}
	cut := MaxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes cut)", s[:cut], len(s)-cut)
}

func capList(l []string) []string {
	if len(l) == 0 {
		return l
	}
	out := make([]string, 0, min(len(l), maxList))
	for _, s := range l[:min(len(l), maxList)] {
		out = append(out, capText(s))
	}
	if len(l) > maxList {
		out = append(out, fmt.Sprintf("… (%d more cut)", len(l)-maxList))
	}
	return out
}

// capped returns ev with every free text field capped (codes, categories and verdicts come from the catalog). The
// structures ev points to are shared with the other sinks, so the capped ones are copies.
func (ev Event) capped() Event {
	ev.Target, ev.Probe, ev.Evidence, ev.Note = capText(ev.Target), capText(ev.Probe), capText(ev.Evidence), capText(ev.Note)
	ev.Old, ev.New = capText(ev.Old), capText(ev.New)
	ev.Outage = cappedCopy(ev.Outage, func(o *Outage) { o.Reasons, o.Steps = capList(o.Reasons), capList(o.Steps) })
	ev.Diagnosis = cappedCopy(ev.Diagnosis, func(d *catalog.Diagnosis) {
		d.Summary, d.Evidence, d.SQLState, d.ClientAddress = capText(d.Summary), capText(d.Evidence), capText(d.SQLState), capText(d.ClientAddress)
		d.Steps = capList(d.Steps)
	})
	ev.Cert = cappedCopy(ev.Cert, func(c *CertInfo) { c.Fingerprint, c.Subject = capText(c.Fingerprint), capText(c.Subject) })
	ev.Server = cappedCopy(ev.Server, func(s *ServerFacts) {
		s.StartTime, s.Role, s.Addresses, s.Cert = capText(s.StartTime), capText(s.Role), capText(s.Addresses), capText(s.Cert)
	})
	return ev
}

// cappedCopy returns a copy of *p with capFields applied, or nil.
func cappedCopy[T any](p *T, capFields func(*T)) *T {
	if p == nil {
		return nil
	}
	c := *p
	capFields(&c)
	return &c
}
