package faultproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
)

// Fault is one fault in force. It is JSON-encodable in the same shape for the
// HTTP control API and for scenario files.
type Fault struct {
	ID   string `json:"id,omitempty"`
	Kind Kind   `json:"kind"`
	// Share is the fraction of new connections (for terminate: of live
	// sessions) affected, decided once per connection; 0 means all of them.
	Share float64 `json:"share,omitempty"`

	// Cause names the error of KindError and KindTerminate by catalog code.
	// KindTerminate also takes the SQLSTATE "57P01" (the default) or "57P02".
	Cause catalog.Code `json:"cause,omitempty"`
	// User and Database go into the texts that name them (default: the
	// StartupMessage's values).
	User     string `json:"user,omitempty"`
	Database string `json:"database,omitempty"`
	// ClientAddr is the address auth.hba_rejected names (default: the
	// client's own address, as the server would).
	ClientAddr string `json:"client_addr,omitempty"`

	At        ResetPoint `json:"at,omitempty"`        // KindReset; default "accept"
	Bytes     int64      `json:"bytes,omitempty"`     // KindReset at "bytes"
	Direction Direction  `json:"direction,omitempty"` // KindLatency, KindTrickle; default "both"
	Delay     Duration   `json:"delay,omitempty"`     // KindLatency
	Rate      int        `json:"rate,omitempty"`      // KindTrickle: bytes per second

	// Statement is the first word of the simple-protocol queries whose
	// answer KindLoseAnswer loses, in any case; default "COMMIT".
	Statement string `json:"statement,omitempty"`
	// Count is how many answers KindLoseAnswer loses before it stops
	// acting; 0 means every matching query's while it is in force.
	Count int `json:"count,omitempty"`

	// Idle is how long a session may carry no byte before KindIdleCut cuts
	// it; Mode is how: "silent" (the default) or "reset".
	Idle Duration `json:"idle,omitempty"`
	Mode IdleMode `json:"mode,omitempty"`

	lost *atomic.Int64 // KindLoseAnswer: answers lost or being held, shared by the sessions
}

// Kind is what a fault does.
type Kind string

// The kinds of fault; see the package documentation for where each acts.
const (
	KindRefuse     Kind = "refuse"
	KindBlackhole  Kind = "blackhole"
	KindReset      Kind = "reset"
	KindError      Kind = "error"
	KindTerminate  Kind = "terminate"
	KindLatency    Kind = "latency"
	KindReadOnly   Kind = "read_only"
	KindTrickle    Kind = "trickle"
	KindLoseAnswer Kind = "lose_answer"
	KindIdleCut    Kind = "idle_cut"
)

// IdleMode is how a KindIdleCut fault cuts an idle session.
type IdleMode string

// Idle cut modes: silent drops every later byte both ways, as a NAT gateway
// or load balancer that forgot the connection does; reset answers the next
// byte with a TCP reset to the client, as one with "TCP reset on idle".
const (
	IdleSilent IdleMode = "silent"
	IdleReset  IdleMode = "reset"
)

// ResetPoint is where a KindReset fault resets the connection.
type ResetPoint string

// Reset points.
const (
	AtAccept  ResetPoint = "accept"
	AtStartup ResetPoint = "startup"
	AtBytes   ResetPoint = "bytes"
)

// Direction is which way of a session a latency or trickle fault slows.
type Direction string

// Directions: upstream is client to server, downstream server to client.
const (
	Upstream   Direction = "upstream"
	Downstream Direction = "downstream"
	Both       Direction = "both"
)

// Duration is a time.Duration that JSON encodes as "250ms".
type Duration time.Duration

// MarshalJSON encodes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts a duration string ("250ms") or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New(`duration must be a string such as "250ms"`)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Validate says what is wrong with f, as Proxy.Add would; nil when Add would take it. Scenario files are checked
// with it before anything runs.
func (f Fault) Validate() error {
	_, err := f.normalize()
	return err
}

// normalize checks f and fills in defaults; the result is what the proxy stores.
func (f Fault) normalize() (Fault, error) {
	if f.Share < 0 || f.Share > 1 {
		return f, fmt.Errorf("share %v: must be between 0 and 1", f.Share)
	}
	if f.Share == 0 {
		f.Share = 1
	}
	switch f.Kind {
	case KindRefuse, KindBlackhole, KindReadOnly:
	case KindReset:
		switch f.At {
		case "":
			f.At = AtAccept
		case AtAccept, AtStartup:
		case AtBytes:
			if f.Bytes <= 0 {
				return f, errors.New("reset at bytes needs bytes > 0")
			}
		default:
			return f, fmt.Errorf("reset at %q: must be accept, startup or bytes", f.At)
		}
	case KindError:
		if f.Cause == "" {
			return f, errors.New("error needs a cause")
		}
		if _, ok := startupErrors[f.Cause]; !ok {
			return f, fmt.Errorf("error cause %q is not one the proxy can send (%s)", f.Cause, startupCauses())
		}
	case KindTerminate:
		switch f.Cause {
		case "", catalog.ServerTerminated, "57P01":
			f.Cause = catalog.ServerTerminated
		case "57P02":
		default:
			return f, fmt.Errorf("terminate cause %q: must be server.terminated, 57P01 or 57P02", f.Cause)
		}
	case KindLatency:
		if f.Delay <= 0 {
			return f, errors.New("latency needs a delay > 0")
		}
		if err := f.normalizeDirection(); err != nil {
			return f, err
		}
	case KindTrickle:
		if f.Rate <= 0 {
			return f, errors.New("trickle needs a rate > 0 (bytes per second)")
		}
		if err := f.normalizeDirection(); err != nil {
			return f, err
		}
	case KindLoseAnswer:
		if f.Statement == "" {
			f.Statement = "COMMIT"
		}
		if strings.ContainsFunc(f.Statement, func(r rune) bool { return r <= ' ' || r == ';' }) || len(f.Statement) > maxStatement {
			return f, fmt.Errorf("lose_answer statement %q: must be one word such as COMMIT or INSERT", f.Statement)
		}
		if f.Count < 0 {
			return f, fmt.Errorf("lose_answer count %d: must be 0 (every answer) or more", f.Count)
		}
	case KindIdleCut:
		if f.Idle <= 0 {
			return f, errors.New("idle_cut needs an idle time > 0")
		}
		switch f.Mode {
		case "":
			f.Mode = IdleSilent
		case IdleSilent, IdleReset:
		default:
			return f, fmt.Errorf("idle_cut mode %q: must be silent or reset", f.Mode)
		}
	case "":
		return f, errors.New("fault needs a kind")
	default:
		return f, fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	return f, nil
}

func (f *Fault) normalizeDirection() error {
	switch f.Direction {
	case "":
		f.Direction = Both
	case Upstream, Downstream, Both:
	default:
		return fmt.Errorf("direction %q: must be upstream, downstream or both", f.Direction)
	}
	return nil
}

// slows reports whether f acts on the bytes flowing in direction d.
func (f *Fault) slows(d Direction) bool {
	return f.Direction == Both || f.Direction == d
}
