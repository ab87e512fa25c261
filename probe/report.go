package probe

import (
	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/settings"
)

// Status sums up a check the way pg_isready does.
type Status string

// The statuses of the JSON contract.
const (
	StatusOK         Status = "ok"          // connected
	StatusRejected   Status = "rejected"    // a PostgreSQL server answered, but the connection could not be completed
	StatusNoResponse Status = "no_response" // no PostgreSQL server answered
	StatusNoAttempt  Status = "no_attempt"  // the settings are invalid
)

// ExitCode is the process exit code for the status, as pg_isready: 0, 1, 2 or 3.
func (s Status) ExitCode() int {
	switch s {
	case StatusOK:
		return 0
	case StatusRejected:
		return 1
	case StatusNoResponse:
		return 2
	default:
		return 3
	}
}

// Report is the result of one check. Its JSON form is a contract (DESIGN.md): fields may be added, never renamed.
type Report struct {
	Target    string            `json:"target"`
	Status    Status            `json:"status"`
	Diagnosis catalog.Diagnosis `json:"diagnosis"`
	Stages    []Stage           `json:"stages"`
	Findings  []Finding         `json:"findings"`
	Server    *Server           `json:"server,omitempty"`
	Pooler    *Pooler           `json:"pooler,omitempty"`
	Settings  []settings.Param  `json:"settings,omitempty"`
	Trace     []TraceEvent      `json:"trace,omitempty"`
}

// StageStatus is the outcome of one stage.
type StageStatus string

// The stage outcomes of the JSON contract.
const (
	StageOK   StageStatus = "ok"
	StageWarn StageStatus = "warn"
	StageFail StageStatus = "fail"
	StageSkip StageStatus = "skip"
)

// StageName names a layer of the check; the names are part of the JSON contract.
type StageName string

// The stages, in the order a check runs them.
const (
	StageSettings StageName = "settings"
	StageDNS      StageName = "dns"
	StageTCP      StageName = "tcp"
	StageProtocol StageName = "protocol" // SSLRequest or direct TLS
	StageTLS      StageName = "tls"
	StageStartup  StageName = "startup"
	StageAuth     StageName = "auth"
	StageServer   StageName = "server"
	StagePooler   StageName = "pooler" // a connection pooler in front of the server, when one answered
	StageMTU      StageName = "mtu"    // a 64 KB result: a path-MTU black hole stalls it
)

// Stage is one layer of the check. Address is the host or address the stage is about, when it is about one.
type Stage struct {
	Name       StageName   `json:"name"`
	Status     StageStatus `json:"status"`
	DurationMS float64     `json:"duration_ms"`
	Address    string      `json:"address,omitempty"`
	Detail     string      `json:"detail,omitempty"`
}

// Finding is something worth knowing that did not stop the connection (or, for other hosts, stopped only them).
type Finding struct {
	Code     string `json:"code"`
	Severity string `json:"severity"` // "warning" or "info"
	Summary  string `json:"summary"`
	// Steps say what to do, for findings the catalog holds.
	Steps []string `json:"steps,omitempty"`
}

// Server holds what the server said about itself once connected.
type Server struct {
	Version        string      `json:"version"`
	VersionNum     int         `json:"version_num,omitempty"`
	InRecovery     bool        `json:"in_recovery"`
	ReadOnly       bool        `json:"read_only"`
	ClientAddress  string      `json:"client_address,omitempty"`
	StartedAt      string      `json:"started_at,omitempty"`
	UptimeSeconds  float64     `json:"uptime_seconds,omitempty"`
	TLS            string      `json:"tls,omitempty"`
	AuthMethod     string      `json:"auth_method,omitempty"`
	Connections    Connections `json:"connections"`
	RoleConnLimit  *LimitUsage `json:"role_connection_limit,omitempty"`
	DBConnLimit    *LimitUsage `json:"database_connection_limit,omitempty"`
	TargetSession  string      `json:"target_session_attrs,omitempty"`
	SessionAttrsOK bool        `json:"target_session_attrs_satisfied"`
}

// Connections is the server's connection usage: used client connections against max_connections, of which
// reserved are held back for superusers (and on PostgreSQL 16 for pg_use_reserved_connections).
type Connections struct {
	Used     int `json:"used"`
	Max      int `json:"max"`
	Reserved int `json:"reserved"`
}

// LimitUsage is a per-role or per-database CONNECTION LIMIT and how much of it is used.
type LimitUsage struct {
	Limit int `json:"limit"`
	Used  int `json:"used"`
}

// TraceEvent is one protocol message or network event, without secrets.
type TraceEvent struct {
	AtMS      float64 `json:"at_ms"`
	Direction string  `json:"direction"` // ">" client to server, "<" server to client, "-" an event
	Message   string  `json:"message"`
}
