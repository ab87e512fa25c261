package settings

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Settings are the resolved connection settings of one connection string.
type Settings struct {
	// Config comes from pgconn.ParseConfigWithOptions and is ready for
	// pgconn.ConnectConfig. Load corrects it where pgx differs from libpq:
	// Password follows libpq's password file rules, libpq-only keywords are
	// not sent to the server, hostaddr is honoured, connect_timeout=1 means 2s.
	Config *pgconn.Config
	// Params lists every effective keyword with its source, host first.
	Params []Param
	// Targets has one entry per host in the host list, in order.
	Targets []Target

	User, Database string
	// SSLMode is the effective sslmode: disable, allow, prefer (the default),
	// require, verify-ca or verify-full.
	SSLMode string
	// SSLNegotiation is postgres (the default) or direct.
	SSLNegotiation string
	// SSLRootCert is the effective root certificate file, "system", or "".
	SSLRootCert string
	// TargetSessionAttrs defaults to "any".
	TargetSessionAttrs string
	// ConnectTimeout is 0 when unset, which libpq takes as "wait forever".
	ConnectTimeout time.Duration
	Password       PasswordInfo
	Warnings       []Warning

	// targetPasswords holds the password libpq would send to each target.
	targetPasswords []string
}

// Param is one effective keyword.
type Param struct {
	Keyword string `json:"keyword"`
	// Value is "********" when Secret.
	Value  string `json:"value"`
	Secret bool   `json:"secret,omitempty"`
	Source Source `json:"source"`
}

// SourceKind names where a value came from.
type SourceKind string

// The sources of a value, from the strongest to the weakest (the passfile only
// supplies a password that no other source gave).
const (
	SourceConnString  SourceKind = "connection string"
	SourceCommandLine SourceKind = "command-line option"
	SourceServiceFile SourceKind = "service file"
	SourceEnvironment SourceKind = "environment"
	SourcePassfile    SourceKind = "passfile"
	SourceDefault     SourceKind = "default"
)

// Source says where a value came from; Detail names the variable, the service
// file and section, or the password file line.
type Source struct {
	Kind   SourceKind `json:"kind"`
	Detail string     `json:"detail,omitempty"`
}

// String returns e.g. "environment PGHOST" or "default".
func (s Source) String() string {
	if s.Detail == "" {
		return string(s.Kind)
	}
	return string(s.Kind) + " " + s.Detail
}

// Target is one host of the host list.
type Target struct {
	// Host is the name to verify TLS against (or the socket directory). When
	// only hostaddr is given, Host is the hostaddr too.
	Host string
	// HostAddr is libpq's hostaddr: the numeric address to dial instead of
	// resolving Host.
	HostAddr string
	Port     uint16
	Unix     bool
}

// PasswordInfo says whether a password was found and where Load looked.
type PasswordInfo struct {
	Found  bool
	Source Source
	// LookedIn lists the places looked at, in order, e.g. "PGPASSWORD",
	// "/root/.pgpass (no matching line)".
	LookedIn []string
}

// Warning is a setting that works but is risky or surprising.
type Warning struct {
	Code, Message string
}

// Error is returned by Load for anything invalid. Msg is the whole message
// and names the keyword and its value; it never contains a secret.
type Error struct {
	Keyword string
	// Value is the offending value, "********" for secrets, or "" when it
	// might be a misplaced secret.
	Value string
	Msg   string
	// Err is the cause, for errors.Is and errors.As.
	Err error
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// value is a setting and where it came from.
type value struct {
	v   string
	src Source
}

// Load resolves connString like libpq: a URL or keyword/value string, then a
// service file section, then PG* environment variables, then defaults. An
// empty connString uses the environment and defaults only, as psql does with
// no argument. Every error is an *Error.
func Load(connString string) (*Settings, error) {
	return LoadWithOptions(connString, nil)
}

// Option is a value given apart from the connection string, as psql's -h, -p,
// -U and -d. Flag names it in the provenance ("command-line option -h").
type Option struct {
	Keyword, Value, Flag string
}

// LoadWithOptions is Load with command-line options. They rank as psql ranks
// them (psql passes them to libpq ahead of the expanded connection string):
// stronger than the service file and the environment, weaker than the
// connection string itself. psql 15 measured:
// `psql -h 127.0.0.1 -p 1 "host=127.0.0.2 port=2"` connects to 127.0.0.2:2.
func LoadWithOptions(connString string, opts []Option) (*Settings, error) {
	cs, err := parseConnString(connString)
	if err != nil {
		return nil, err
	}
	l := &loader{cs: cs, merged: map[string]value{}, files: filesFor(runtime.GOOS, homeDir(), os.Getenv("APPDATA"))}
	for _, o := range opts {
		if _, ok := keywords[o.Keyword]; !ok {
			return nil, &Error{Keyword: o.Keyword, Msg: "unknown option keyword " + safeName(o.Keyword)}
		}
		if _, inString := cs.values[o.Keyword]; !inString && o.Value != "" {
			l.options = append(l.options, o)
		}
	}
	if err := l.merge(); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	extra := l.extra
	for _, o := range l.options {
		extra = append(extra, [2]string{o.Keyword, o.Value})
	}
	cfg, err := pgconn.ParseConfigWithOptions(withSettings(connString, cs.url, extra), pgconn.ParseConfigOptions{})
	if err != nil {
		return nil, l.pgxError(err)
	}
	return l.settings(cfg), nil
}

type loader struct {
	cs     parsedConnString
	merged map[string]value
	files  libpqFiles
	// extra are settings appended to the string handed to pgx, where pgx
	// would otherwise differ from libpq.
	extra [][2]string
	// options are the command-line options the connection string does not
	// override.
	options []Option
	// service is the service file section in use, if any.
	service Source
	// insecurePassfile is the warning about an ignored password file.
	insecurePassfile string
}

func homeDir() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return h
}

// merge applies the sources from the weakest to the strongest, as libpq and
// pgx do: environment, service file, command-line options, connection string.
func (l *loader) merge() error {
	for kw, k := range keywords {
		if k.env == "" {
			continue
		}
		if v := os.Getenv(k.env); v != "" {
			l.merged[kw] = value{v, Source{SourceEnvironment, k.env}}
		}
	}
	for env, kw := range pgxOnlyEnv {
		if v := os.Getenv(env); v != "" {
			l.merged[kw] = value{v, Source{SourceEnvironment, env}}
		}
	}
	name, fromString := l.cs.values["service"]
	if !fromString {
		name = l.merged["service"].v
	}
	if name != "" {
		primary := l.cs.values["servicefile"]
		if primary == "" {
			primary = l.merged["servicefile"].v
		}
		if primary == "" {
			primary = l.files.servicefile
		}
		svc, err := findService(name, primary)
		if err != nil {
			return err
		}
		if svc.path != primary {
			l.extra = append(l.extra, [2]string{"servicefile", svc.path})
		}
		l.service = Source{SourceServiceFile, fmt.Sprintf("%s [%s]", svc.path, svc.name)}
		for k, v := range svc.values {
			l.merged[k] = value{v, l.service}
		}
	}
	for _, o := range l.options {
		l.merged[o.Keyword] = value{o.Value, Source{SourceCommandLine, o.Flag}}
	}
	for k, v := range l.cs.values {
		l.merged[k] = value{v, Source{Kind: SourceConnString}}
	}
	return nil
}

// get returns the effective value of a keyword; an empty value counts as unset.
func (l *loader) get(kw string) string { return l.merged[kw].v }

// fail builds an *Error about kw's effective value: what is wrong, the
// value's source, then the hint.
func (l *loader) fail(kw, what, hint string) *Error {
	v := l.merged[kw]
	shown := v.v
	if keywords[kw].secret || (l.cs.strayAt && v.src.Kind == SourceConnString && (kw == "host" || kw == "port")) {
		shown = mask
	}
	return &Error{Keyword: kw, Value: shown, Msg: what + " (from " + v.src.String() + ")" + hint}
}

func (l *loader) validate() error {
	for _, kw := range slices.Sorted(maps.Keys(enumerations)) {
		e := enumerations[kw]
		v, set := l.merged[kw]
		if !set || (v.v == "" && e.allowEmpty) || slices.Contains(e.values, v.v) {
			continue
		}
		return l.fail(kw, fmt.Sprintf("invalid %s value: %q", kw, l.shownValue(kw)), "; valid values: "+strings.Join(e.values, ", "))
	}
	// Empty values select the default, as in pgx.
	for k, v := range l.merged {
		if v.v == "" {
			delete(l.merged, k)
		}
	}
	sslmode := l.get("sslmode")
	if l.get("sslrootcert") == "system" && sslmode != "" && sslmode != "verify-full" {
		return l.fail("sslmode", fmt.Sprintf("weak sslmode %q may not be used with sslrootcert=system", sslmode), `; use "verify-full"`)
	}
	if l.get("sslnegotiation") == "direct" && !slices.Contains([]string{"require", "verify-ca", "verify-full"}, sslmode) {
		if sslmode == "" {
			return l.fail("sslnegotiation", "sslnegotiation=direct may not be used with the default sslmode \"prefer\"", `; set sslmode to "require", "verify-ca" or "verify-full"`)
		}
		return l.fail("sslmode", fmt.Sprintf("weak sslmode %q may not be used with sslnegotiation=direct", sslmode), `; use "require", "verify-ca" or "verify-full"`)
	}
	if v, set := l.merged["connect_timeout"]; set {
		n, err := strconv.ParseInt(v.v, 10, 32)
		if err != nil || n < 0 {
			return l.fail("connect_timeout", fmt.Sprintf("invalid connect_timeout value: %q", v.v), "; it must be a whole number of seconds, 0 or more")
		}
	}
	hosts := strings.Split(l.get("host"), ",")
	if ports, set := l.merged["port"]; set {
		list := strings.Split(ports.v, ",")
		for _, p := range list {
			if p == "" {
				continue
			}
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return l.fail("port", fmt.Sprintf("invalid port number: %q", l.shownPart("port", p)), "; it must be a number from 1 to 65535")
			}
		}
		if len(list) > 1 && len(list) != len(hosts) {
			return l.fail("port", fmt.Sprintf("could not match %d port numbers to %d hosts", len(list), len(hosts)), "; give one port for all hosts or one port per host")
		}
	}
	if addrs, set := l.merged["hostaddr"]; set {
		list := strings.Split(addrs.v, ",")
		if _, hostSet := l.merged["host"]; hostSet && len(list) != len(hosts) {
			return l.fail("hostaddr", fmt.Sprintf("could not match %d host names to %d hostaddr values", len(hosts), len(list)), "")
		}
		for _, a := range list {
			if a != "" && net.ParseIP(a) == nil {
				return l.fail("hostaddr", fmt.Sprintf("could not parse network address %q", a), "; hostaddr must be a numeric IPv4 or IPv6 address (put names in host)")
			}
		}
		if _, hostSet := l.merged["host"]; !hostSet {
			// Without host, libpq connects to hostaddr over TCP; pgx would use
			// its default host (a Unix socket), so hand it the addresses.
			l.extra = append(l.extra, [2]string{"host", addrs.v})
		}
	}
	if root := l.get("sslrootcert"); root != "" && root != "system" && sslmode != "disable" {
		if _, err := os.Stat(root); err != nil {
			e := l.fail("sslrootcert", fmt.Sprintf("root certificate file %q cannot be read", root), "")
			e.Err = err
			return e
		}
	}
	return l.checkFiles(sslmode)
}

// checkFiles checks the files pgx is about to read (see MaxCertFile): the TLS files unless sslmode=disable, given
// or at their defaults under ~/.postgresql, and the service file found. A password file that fails is ignored, as
// libpq ignores one that is not a plain file, and pgx is told not to read it.
func (l *loader) checkFiles(sslmode string) error {
	dir := l.files.certDir
	for _, f := range []struct {
		kw, fallback string
		limit        int64
	}{{"sslrootcert", "root.crt", MaxCertFile}, {"sslcert", "postgresql.crt", MaxCertFile}, {"sslkey", "postgresql.key", MaxSmallFile}} {
		path := l.get(f.kw)
		if sslmode == "disable" || path == "system" || path == "" && dir == "" {
			continue
		}
		from := l.merged[f.kw].src.String()
		if path == "" {
			path, from = filepath.Join(dir, f.fallback), "default"
		}
		if err := checkFile(path, f.limit); err != nil {
			return &Error{Keyword: f.kw, Value: path, Msg: fmt.Sprintf("%s file %q (from %s): %v", f.kw, path, from, err), Err: err}
		}
	}
	if path := l.passfile(); path != "" && checkFile(path, MaxSmallFile) != nil {
		l.extra = append(l.extra, [2]string{"passfile", ""})
	}
	return nil
}

// passfile is the password file in use: the passfile setting, or libpq's default for the platform.
func (l *loader) passfile() string {
	if p := l.get("passfile"); p != "" {
		return p
	}
	return l.files.passfile
}

// shownValue is the effective value of kw as an error may quote it.
func (l *loader) shownValue(kw string) string {
	if keywords[kw].secret {
		return mask
	}
	return l.merged[kw].v
}

// shownPart is one element of a list-valued setting as an error may quote it.
func (l *loader) shownPart(kw, part string) string {
	if l.cs.strayAt && l.merged[kw].src.Kind == SourceConnString {
		return mask
	}
	return part
}

// pgxError turns a pgx parse error into an *Error without the connection
// string that pgx quotes (its password redaction is best effort).
func (l *loader) pgxError(err error) error {
	var pce *pgconn.ParseConfigError
	if !errors.As(err, &pce) {
		return &Error{Msg: "invalid connection settings: " + l.scrub(err.Error()), Err: err}
	}
	c := *pce
	c.ConnString = ""
	msg := strings.TrimPrefix(c.Error(), "cannot parse ``: ")
	return &Error{Msg: "invalid connection settings: " + l.scrub(msg), Err: &c}
}

// scrub masks the secrets of these settings in a foreign message. Very short
// secrets are left alone: masking them would garble the message while the
// message can hardly be said to reveal them.
func (l *loader) scrub(msg string) string {
	for kw, k := range keywords {
		if v := l.merged[kw].v; k.secret && len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, mask)
		}
	}
	return msg
}

// withSettings appends settings to a connection string, in its own syntax, so
// that they override what it says.
func withSettings(connString string, isURL bool, extra [][2]string) string {
	for _, kv := range extra {
		if isURL {
			sep := "&"
			if !strings.Contains(connString, "?") {
				sep = "?"
			} else if strings.HasSuffix(connString, "?") || strings.HasSuffix(connString, "&") {
				sep = ""
			}
			connString += sep + kv[0] + "=" + percentEncode(kv[1])
		} else {
			v := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(kv[1])
			connString += " " + kv[0] + "='" + v + "'"
		}
	}
	return connString
}

func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/,", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// settings completes the result from pgx's Config.
func (l *loader) settings(cfg *pgconn.Config) *Settings {
	s := &Settings{Config: cfg, User: cfg.User}
	l.fixConfig(cfg)

	s.Database = l.get("dbname")
	if s.Database == "" {
		// libpq (and the server) default the database name to the user name.
		s.Database = cfg.User
	}
	s.SSLMode = l.get("sslmode")
	if s.SSLMode == "" {
		s.SSLMode = "prefer"
		if l.get("sslrootcert") == "system" {
			s.SSLMode = "verify-full"
		}
	}
	s.SSLNegotiation = orDefault(l.get("sslnegotiation"), "postgres")
	s.TargetSessionAttrs = orDefault(l.get("target_session_attrs"), "any")
	s.ConnectTimeout = cfg.ConnectTimeout
	s.Targets = l.targets()
	cfg.LookupFunc = lookupHostAddr(s.Targets, cfg.LookupFunc)
	l.defaults(s, cfg)
	s.SSLRootCert = l.get("sslrootcert")
	l.password(s)
	s.Params = l.params()
	s.Warnings = l.warnings(s)
	return s
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// fixConfig corrects pgx's Config where it differs from libpq.
func (l *loader) fixConfig(cfg *pgconn.Config) {
	for kw, k := range keywords {
		if k.unsupported {
			delete(cfg.RuntimeParams, kw)
		}
	}
	delete(cfg.RuntimeParams, "hostaddr")
	delete(cfg.RuntimeParams, "fallback_application_name")
	if fb := l.get("fallback_application_name"); fb != "" && l.get("application_name") == "" {
		cfg.RuntimeParams["application_name"] = fb
	}
	// pgx reads these keywords but not their environment variables.
	if v := l.get("client_encoding"); v != "" {
		cfg.RuntimeParams["client_encoding"] = v
	}
	if v := l.get("krbsrvname"); v != "" {
		cfg.KerberosSrvName = v
	}
	if cfg.ConnectTimeout == time.Second {
		// libpq's minimum: "a value of 1 is interpreted as 2".
		cfg.ConnectTimeout = 2 * time.Second
		cfg.DialFunc = (&net.Dialer{Timeout: cfg.ConnectTimeout}).DialContext
	}
}

// targets splits the host, hostaddr and port lists as libpq does.
func (l *loader) targets() []Target {
	hostList := l.get("host")
	if hostList == "" {
		hostList = l.get("hostaddr")
	}
	hosts := strings.Split(hostList, ",")
	addrs := strings.Split(l.get("hostaddr"), ",")
	ports := strings.Split(l.get("port"), ",")
	targets := make([]Target, len(hosts))
	for i, h := range hosts {
		if h == "" {
			h = l.files.defaultHost()
		}
		p := ports[0]
		if len(ports) > 1 {
			p = ports[i]
		}
		port, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			port = 5432 // empty: validate rejected anything else
		}
		t := Target{Host: h, Port: uint16(port), Unix: strings.HasPrefix(h, "/")}
		if i < len(addrs) {
			t.HostAddr = addrs[i]
		}
		targets[i] = t
	}
	return targets
}

// defaults records the defaults pgx applied, so that Params shows them.
func (l *loader) defaults(s *Settings, cfg *pgconn.Config) {
	def := func(kw, v string) {
		if _, set := l.merged[kw]; !set && v != "" {
			l.merged[kw] = value{v, Source{Kind: SourceDefault}}
		}
	}
	if _, set := l.merged["hostaddr"]; !set {
		hosts := make([]string, len(s.Targets))
		for i, t := range s.Targets {
			hosts[i] = t.Host
		}
		def("host", strings.Join(hosts, ","))
	}
	def("port", "5432")
	def("user", cfg.User)
	def("dbname", s.Database)
	def("sslmode", s.SSLMode)
	def("sslnegotiation", s.SSLNegotiation)
	def("target_session_attrs", s.TargetSessionAttrs)
	def("passfile", l.files.passfile)
	// pgx uses the client certificate and root certificate under
	// ~/.postgresql (%APPDATA%\postgresql) when they exist, as libpq does.
	if dir := l.files.certDir; dir != "" {
		if exists(filepath.Join(dir, "postgresql.crt")) && exists(filepath.Join(dir, "postgresql.key")) {
			def("sslcert", filepath.Join(dir, "postgresql.crt"))
			def("sslkey", filepath.Join(dir, "postgresql.key"))
		}
		if exists(filepath.Join(dir, "root.crt")) {
			def("sslrootcert", filepath.Join(dir, "root.crt"))
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// password decides each target's password like libpq: a password from the
// connection string, service file or PGPASSWORD wins; otherwise the password
// file, looked up for each host, unless its permissions are too open.
func (l *loader) password(s *Settings) {
	pi := &s.Password
	pi.LookedIn = append(pi.LookedIn, string(SourceConnString))
	if l.service.Kind != "" {
		pi.LookedIn = append(pi.LookedIn, l.service.String())
	}
	pi.LookedIn = append(pi.LookedIn, "PGPASSWORD")
	if pw, set := l.merged["password"]; set {
		pi.Found, pi.Source = true, pw.src
		pi.LookedIn = lookedInUntil(pi.LookedIn, pw.src)
		s.targetPasswords = slices.Repeat([]string{pw.v}, len(s.Targets))
		s.Config.Password = pw.v
		return
	}
	s.targetPasswords = make([]string, len(s.Targets))
	s.Config.Password = ""
	path := l.get("passfile")
	if path == "" || s.User == "" {
		return
	}
	notes := []string{}
	for i, t := range s.Targets {
		host := t.Host
		if t.Unix || host == "" {
			// libpq matches Unix-socket connections as "localhost".
			host = "localhost"
		}
		r := lookupPassfile(path, passfileKey{host, strconv.Itoa(int(t.Port)), s.Database, s.User}, l.files.checkMode)
		if !slices.Contains(notes, r.note) {
			notes = append(notes, r.note)
		}
		if r.insecure {
			l.insecurePassfile = fmt.Sprintf("password file %q has group or world access (permissions %04o); libpq ignores it, and so does pgtriage: run chmod 0600 %s", path, r.mode, path)
		}
		if !r.found {
			continue
		}
		s.targetPasswords[i] = r.password
		if !pi.Found {
			pi.Found, pi.Source = true, Source{SourcePassfile, fmt.Sprintf("%s line %d", path, r.line)}
			l.merged["password"] = value{r.password, pi.Source}
		}
	}
	pi.LookedIn = append(pi.LookedIn, notes...)
	s.Config.Password = s.targetPasswords[0]
}

// lookedInUntil cuts the list after the place where the password was found.
func lookedInUntil(list []string, src Source) []string {
	for i, place := range list {
		if place == src.String() || place == src.Detail {
			return list[:i+1]
		}
	}
	return list
}

// params lists the effective keywords in paramOrder, then the rest sorted.
func (l *loader) params() []Param {
	var out []Param
	add := func(kw string) {
		v, set := l.merged[kw]
		if !set {
			return
		}
		p := Param{Keyword: kw, Value: v.v, Secret: keywords[kw].secret, Source: v.src}
		if p.Secret {
			p.Value = mask
		}
		out = append(out, p)
	}
	for _, kw := range paramOrder {
		add(kw)
	}
	for _, kw := range slices.Sorted(maps.Keys(l.merged)) {
		if !slices.Contains(paramOrder, kw) {
			add(kw)
		}
	}
	return out
}

// Target returns a display name such as "app@db.example.com:5432/orders" or,
// for several hosts, "app@h1:5432,h2:5433/orders". It never has a password.
func (s *Settings) Target() string {
	hosts := make([]string, len(s.Targets))
	for i, t := range s.Targets {
		port := strconv.Itoa(int(t.Port))
		if t.Unix {
			hosts[i] = t.Host + ":" + port
		} else {
			hosts[i] = net.JoinHostPort(t.Host, port)
		}
	}
	return s.User + "@" + strings.Join(hosts, ",") + "/" + s.Database
}

// TargetConfig returns a copy of Config that connects to Targets[i] only, with
// the password libpq would send to that host: libpq looks the password file
// up for each host, pgx only for the first one.
func (s *Settings) TargetConfig(i int) *pgconn.Config {
	t := s.Targets[i]
	var tries []*pgconn.FallbackConfig
	for _, fb := range append([]*pgconn.FallbackConfig{{Host: s.Config.Host, Port: s.Config.Port, TLSConfig: s.Config.TLSConfig}}, s.Config.Fallbacks...) {
		if fb.Host == t.Host && fb.Port == t.Port {
			tries = append(tries, fb)
		}
	}
	if len(tries) == 0 {
		return s.Config.Copy() // cannot happen: Targets and pgx split the same lists
	}
	// Copy without the other hosts' fallbacks, whose TLS configs Copy would clone.
	shallow := *s.Config
	shallow.Host, shallow.Port, shallow.TLSConfig = tries[0].Host, tries[0].Port, tries[0].TLSConfig
	shallow.Fallbacks = tries[1:]
	cfg := shallow.Copy()
	cfg.Password = s.targetPasswords[i]
	return cfg
}

// lookupHostAddr makes pgx dial hostaddr instead of resolving the host name,
// while TLS still verifies the host name, as libpq does.
func lookupHostAddr(targets []Target, next pgconn.LookupFunc) pgconn.LookupFunc {
	byHost := map[string]string{}
	for _, t := range targets {
		if _, seen := byHost[t.Host]; !seen && t.HostAddr != "" {
			byHost[t.Host] = t.HostAddr
		}
	}
	if len(byHost) == 0 {
		return next
	}
	return func(ctx context.Context, host string) ([]string, error) {
		if addr, ok := byHost[host]; ok {
			return []string{addr}, nil
		}
		return next(ctx, host)
	}
}
