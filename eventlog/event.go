// Package eventlog is the contract of watch's event log: the Event schema and its JSON Lines file, one event a line.
// Package watch writes it, package report reads it; neither needs the other.
//
// The log is append-only and its fields are added, never renamed, so that logs of every earlier version still read:
//
//	log, existing, err := eventlog.Open("events.jsonl", fold) // fold sees every event an earlier run wrote
//	err = log.Record(eventlog.Event{Time: time.Now(), Type: eventlog.EventWatchStart})
//	stats, err := eventlog.Scan(f, fold)                     // for a report, one event at a time
package eventlog

import (
	"time"

	"github.com/pgtriage/pgtriage/catalog"
)

// EventType names what an Event records. The names are a contract of the event log: add, never rename.
type EventType string

// The events of the log.
const (
	EventWatchStart     EventType = "watch_start"      // a watch process started (Targets); "resumed" when it continued a log
	EventWatchStop      EventType = "watch_stop"       // it stopped cleanly; the time between a stop and the next start was not observed
	EventOutageStart    EventType = "outage_start"     // the first failure: Probe, Code, Evidence
	EventOutageCause    EventType = "outage_cause"     // a code not seen before in this outage
	EventOutageDiagnose EventType = "outage_diagnosis" // the layered diagnosis of probe.Run, taken once at the start of an outage
	EventOutageEscalate EventType = "outage_escalate"  // a still-open outage passed the escalation time
	EventOutageEnd      EventType = "outage_end"       // the first success: Outage holds the whole story
	EventRestart        EventType = "server_restart"   // pg_postmaster_start_time changed: Old, New
	EventAddresses      EventType = "addresses"        // the host's addresses changed (a failover behind DNS): Old, New
	EventRole           EventType = "role"             // the server became a standby or a primary: Old, New
	EventCert           EventType = "cert_changed"     // the server certificate changed: Old, New (fingerprints), Cert
	EventCertExpiring   EventType = "cert_expiring"    // the server certificate expires within the warning time: Cert
	EventTokenExpiring  EventType = "token_expiring"   // the password is an access token that expires within minutes: Code, Note
	EventIdleCut        EventType = "idle_cut"         // the idle session (IdleProbe) was cut while the target was up: Code, Evidence, Note (silent or reset)
	EventLatency        EventType = "latency"          // a summary of the probe round trips since the last one: Latency
	EventServer         EventType = "server"           // the server facts first seen in a run: Server
	EventDropped        EventType = "events_dropped"   // this sink was blocked and missed events: Dropped
)

// Probe kinds: the held session's query, and a fresh login.
const (
	ProbeSession = "session"
	ProbeLogin   = "login"
)

// Event is one line of the event log. Fields are added, never renamed.
type Event struct {
	Time     time.Time    `json:"time"`
	Type     EventType    `json:"type"`
	Target   string       `json:"target,omitempty"`
	Probe    string       `json:"probe,omitempty"`
	Code     catalog.Code `json:"code,omitempty"`
	Evidence string       `json:"evidence,omitempty"`
	// Side is "pooler" when a connection pooler in front of the server refused, "server" when the pooler said the
	// failure lies behind it (catalog.PoolerSide); empty when no pooler's words decided.
	Side string `json:"side,omitempty"`
	// OutageStart ties outage_cause, outage_diagnosis and outage_escalate events to their outage.
	OutageStart *time.Time         `json:"outage_start,omitempty"`
	Outage      *Outage            `json:"outage,omitempty"`
	Diagnosis   *catalog.Diagnosis `json:"diagnosis,omitempty"`
	Old         string             `json:"old,omitempty"`
	New         string             `json:"new,omitempty"`
	Cert        *CertInfo          `json:"cert,omitempty"`
	Latency     *Latency           `json:"latency,omitempty"`
	Server      *ServerFacts       `json:"server,omitempty"`
	Targets     []string           `json:"targets,omitempty"`
	Resumed     bool               `json:"resumed,omitempty"`
	Dropped     int                `json:"dropped,omitempty"`
	// Note says something a reader needs, e.g. that a torn last line was dropped when the log was continued.
	Note string `json:"note,omitempty"`
}

// Verdicts of an outage.
const (
	VerdictTransient = "transient"
	VerdictEscalate  = "escalate"
)

// Outage runs from the first failure to the first success of a target.
type Outage struct {
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Cause is the code observed most often during the outage (the first of equals); Codes lists every code in the
	// order first seen, with how many failed probes said it.
	Cause    catalog.Code `json:"cause"`
	Category string       `json:"category"`
	Codes    []CodeCount  `json:"codes"`
	Verdict  string       `json:"verdict"`
	// Reasons say why the verdict is escalate: too long, or too often.
	Reasons []string `json:"reasons,omitempty"`
	// Recent is how many outages the target had within the window, this one included.
	Recent int      `json:"recent_outages"`
	Steps  []string `json:"steps"`
	// Unobserved is how long watch itself was not running during the outage (it was stopped and continued the log).
	UnobservedSeconds float64 `json:"unobserved_seconds,omitempty"`
}

// CodeCount is a code and how many failed probes said it.
type CodeCount struct {
	Code  catalog.Code `json:"code"`
	Count int          `json:"count"`
}

// CertInfo describes a server certificate.
type CertInfo struct {
	Fingerprint string    `json:"sha256"`
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"not_after"`
}

// Latency sums up the probe round trips of one period, in milliseconds.
type Latency struct {
	Probe   string  `json:"probe"`
	Count   int     `json:"count"`
	P50MS   float64 `json:"p50_ms"`
	P90MS   float64 `json:"p90_ms"`
	MaxMS   float64 `json:"max_ms"`
	Seconds float64 `json:"period_seconds"`
}

// ServerFacts are what a target's server said about itself; they are compared from one connection to the next.
type ServerFacts struct {
	StartTime string `json:"start_time,omitempty"` // pg_postmaster_start_time as seconds since the epoch
	Role      string `json:"role,omitempty"`       // primary or standby
	Addresses string `json:"addresses,omitempty"`  // what the host names resolved to
	Cert      string `json:"cert_sha256,omitempty"`
}

// Round is how durations are written in events' notes and read by people: to the second above ten seconds, to ten
// milliseconds below.
func Round(d time.Duration) time.Duration {
	if d > 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}
