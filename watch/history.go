package watch

import (
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/eventlog"
)

// History is what an earlier run left in the event log, folded as it is read: constant memory for each target
// however long the log.
type History struct {
	Events  int // events read
	Skipped int // lines that were not events
	// Note says what was repaired, e.g. a torn last line cut off.
	Note string
	// LastSeen is the time of the last event: the earlier run was alive until then at least.
	LastSeen time.Time
	targets  map[string]*pastTarget
}

type pastTarget struct {
	open       *openOutage
	starts     []time.Time // outage starts, the last maxStarts
	server     eventlog.ServerFacts
	certWarned string
}

// maxStarts bounds the outage starts kept for each target: more than this within a window escalates anyway.
const maxStarts = 1000

func newHistory() *History { return &History{targets: map[string]*pastTarget{}} }

// OpenLog opens the event log at path (see eventlog.Open) and folds what an earlier run wrote into a History.
func OpenLog(path string) (*eventlog.Log, *History, error) {
	h := newHistory()
	l, ex, err := eventlog.Open(path, h.fold)
	if err != nil {
		return nil, nil, err
	}
	h.Skipped, h.Note = ex.Skipped, ex.Note
	return l, h, nil
}

func (h *History) fold(ev eventlog.Event) {
	h.Events++
	if ev.Time.After(h.LastSeen) {
		h.LastSeen = ev.Time
	}
	if ev.Target == "" {
		return
	}
	p := h.targets[ev.Target]
	if p == nil {
		p = &pastTarget{}
		h.targets[ev.Target] = p
	}
	switch ev.Type {
	case eventlog.EventOutageStart:
		p.open = &openOutage{start: ev.Time, evidence: map[catalog.Code]string{}}
		p.open.add(ev.Code, ev.Evidence)
		if p.starts = append(p.starts, ev.Time); len(p.starts) > maxStarts {
			p.starts = p.starts[1:]
		}
	case eventlog.EventOutageCause:
		if p.open != nil {
			p.open.add(ev.Code, ev.Evidence)
		}
	case eventlog.EventOutageEscalate:
		if p.open != nil {
			p.open.escalated = true
		}
	case eventlog.EventOutageEnd:
		p.open = nil
	case eventlog.EventServer:
		if ev.Server != nil {
			p.server = *ev.Server
		}
	case eventlog.EventRestart:
		p.server.StartTime = ev.New
	case eventlog.EventRole:
		p.server.Role = ev.New
	case eventlog.EventAddresses:
		p.server.Addresses = ev.New
	case eventlog.EventCert:
		p.server.Cert = ev.New
	case eventlog.EventCertExpiring:
		if ev.Cert != nil {
			p.certWarned = ev.Cert.Fingerprint
		}
	}
}

// OpenOutages returns the targets whose outage was open when the earlier run stopped.
func (h *History) OpenOutages() []string {
	var names []string
	for name, p := range h.targets {
		if p.open != nil {
			names = append(names, name)
		}
	}
	return names
}

// restore continues the history of each target that is still watched: its open outage (the time watch was not
// running is counted as unobserved), the outages of the window, and the server facts to compare with.
func (w *Watcher) restore(now time.Time) {
	h := w.opts.History
	if h == nil {
		return
	}
	for _, t := range w.targets {
		p := h.targets[t.Name]
		if p == nil {
			continue
		}
		t.mu.Lock()
		t.server, t.certWarned = p.server, p.certWarned
		t.recent = append(t.recent[:0], p.starts...)
		t.pruneRecent(now)
		if p.open != nil {
			o := *p.open
			o.unobserved += now.Sub(h.LastSeen)
			t.outage, t.known, t.since = &o, true, o.start
			t.m.up.Set(0)
		}
		t.mu.Unlock()
	}
}
