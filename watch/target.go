package watch

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pgtriage/pgtriage/settings"
)

// Target is one server to watch.
type Target struct {
	// Name labels the target in events, metrics and the view; the default is Settings.Target()
	// (user@host:port/db), which never holds a password.
	Name     string
	Settings *settings.Settings
	// Interval between two probes of the held session; Options.Interval when zero.
	Interval time.Duration
	// LoginEvery is how many intervals pass between two fresh logins; Options.LoginEvery when zero.
	LoginEvery int
}

// Options shape a Watcher. Zero values take the defaults named on each field.
type Options struct {
	Interval   time.Duration // default 1 s
	LoginEvery int           // default 10 intervals
	// RetryInterval is how often a failing probe is retried during an outage (default 250 ms, at most Interval):
	// it bounds how late the end of an outage is seen.
	RetryInterval time.Duration
	// EscalateAfter: an outage longer than this needs escalation (default 60 s).
	EscalateAfter time.Duration
	// MaxOutages: more outages than this within Window need escalation (default 1, so the second within a day).
	MaxOutages int
	Window     time.Duration // default 24 h
	// CertWarning: a certificate expiring within this time is an event (default 14 days).
	CertWarning time.Duration
	// LatencyEvery is the period of the latency summaries of the log (default 1 min).
	LatencyEvery time.Duration
	// Resolver looks host names up; nil means net.DefaultResolver. Tests pass one that asks their own DNS server.
	Resolver *net.Resolver
	// History continues a previous run (see OpenLog).
	History *History
	Metrics *Metrics
	// Sinks receive every event, in order for each target, each from a goroutine of its own (see Sink).
	Sinks []Sink
	// SinkQueue is how many events a sink may fall behind before its events are dropped (default 4096).
	SinkQueue int
	// DiagnoseParallel bounds how many probe.Run diagnoses run at once (default 4).
	DiagnoseParallel int
	// IdleProbe, when set, keeps one more session per target idle for this long between two queries, with TCP
	// keepalives off: a middle box that forgets idle connections cuts it (an idle_cut event) while the held
	// session, never idle, carries on.
	IdleProbe time.Duration
}

func (o *Options) defaults() {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.LoginEvery <= 0 {
		o.LoginEvery = 10
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 250 * time.Millisecond
	}
	if o.EscalateAfter <= 0 {
		o.EscalateAfter = time.Minute
	}
	if o.MaxOutages <= 0 {
		o.MaxOutages = 1
	}
	if o.Window <= 0 {
		o.Window = 24 * time.Hour
	}
	if o.CertWarning <= 0 {
		o.CertWarning = 14 * 24 * time.Hour
	}
	if o.LatencyEvery <= 0 {
		o.LatencyEvery = time.Minute
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.SinkQueue <= 0 {
		o.SinkQueue = 4096
	}
	if o.DiagnoseParallel <= 0 {
		o.DiagnoseParallel = 4
	}
}

// Config is the form of a --config file (YAML):
//
//	interval: 1s
//	login_every: 10
//	targets:
//	  - name: orders-primary
//	    conn: "host=orders.db.internal user=monitor dbname=orders sslmode=verify-full"
//	    interval: 5s
//	  - conn: "service=billing"
//
// Each conn is read by settings.Load, so the PG* environment, service files and .pgpass apply as in libpq. A
// password is better kept in .pgpass than in the file.
type Config struct {
	Interval   time.Duration  `yaml:"interval"`
	LoginEvery int            `yaml:"login_every"`
	Targets    []ConfigTarget `yaml:"targets"`
}

// ConfigTarget is one target of a Config.
type ConfigTarget struct {
	Name       string        `yaml:"name"`
	Conn       string        `yaml:"conn"`
	Interval   time.Duration `yaml:"interval"`
	LoginEvery int           `yaml:"login_every"`
}

// LoadConfig reads a config file: a regular file of at most settings.MaxSmallFile bytes (some ten thousand
// targets), parsed by ParseConfig. Errors name the file, and the target by its position and name; they never quote
// a connection string, which may hold a password.
func LoadConfig(path string) (*Config, error) {
	b, err := settings.ReadFile(path, settings.MaxSmallFile)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, b)
}

// ParseConfig reads the YAML of a config file; name is for the errors. YAML aliases are refused: a config has no
// use for them, and an alias repeated is a copy of its anchor's value each time, so a small file could stand for
// gigabytes.
func ParseConfig(name string, b []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if line := aliasAt(&doc); line > 0 {
		return nil, fmt.Errorf("%s:%d: YAML aliases (*name) are not allowed in a config", name, line)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(c.Targets) == 0 {
		return nil, fmt.Errorf("%s: no targets", name)
	}
	for i, t := range c.Targets {
		if t.Conn == "" {
			return nil, fmt.Errorf("%s: target %d (%s): conn is empty", name, i+1, t.Name)
		}
		if t.Interval < 0 || t.LoginEvery < 0 {
			return nil, fmt.Errorf("%s: target %d (%s): interval and login_every must not be negative", name, i+1, t.Name)
		}
	}
	if c.Interval < 0 || c.LoginEvery < 0 {
		return nil, fmt.Errorf("%s: interval and login_every must not be negative", name)
	}
	return &c, nil
}

// aliasAt is the line of the first alias in the document, or 0.
func aliasAt(n *yaml.Node) int {
	if n.Kind == yaml.AliasNode {
		return max(n.Line, 1)
	}
	for _, c := range n.Content {
		if line := aliasAt(c); line > 0 {
			return line
		}
	}
	return 0
}

// Resolve loads the settings of every target of the config (see LoadTarget).
func (c *Config) Resolve() ([]Target, error) {
	var out []Target
	var errs []error
	for i, ct := range c.Targets {
		t, err := LoadTarget(ct.Conn)
		if err != nil {
			errs = append(errs, fmt.Errorf("target %d (%s): %w", i+1, ct.Name, err))
			continue
		}
		if ct.Name != "" {
			t.Name = ct.Name
		}
		t.Interval, t.LoginEvery = ct.Interval, ct.LoginEvery
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// LoadTarget loads one connection string as a target named after it.
func LoadTarget(conn string) (Target, error) {
	s, err := settings.Load(conn)
	if err != nil {
		return Target{}, err
	}
	return Target{Name: s.Target(), Settings: s}, nil
}
