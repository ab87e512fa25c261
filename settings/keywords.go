package settings

// keyword describes one libpq connection keyword.
type keyword struct {
	// env is the environment variable libpq reads for it ("" if none).
	env string
	// secret values are masked in Params and never quoted in errors.
	secret bool
	// unsupported marks libpq keywords that pgx does not implement. pgx would
	// send them to the server as run-time parameters, which the server rejects,
	// so Load strips them from Config.RuntimeParams and warns.
	unsupported bool
}

// keywords is libpq's keyword list (PostgreSQL 18, fe-connect.c PQconninfoOptions).
// libpq rejects any other keyword; pgx would silently turn it into a run-time
// parameter, so that a typo like "sslmod" only fails at the server, if at all.
var keywords = map[string]keyword{
	"service":                   {env: "PGSERVICE"},
	"servicefile":               {env: "PGSERVICEFILE"},
	"user":                      {env: "PGUSER"},
	"password":                  {env: "PGPASSWORD", secret: true},
	"passfile":                  {env: "PGPASSFILE"},
	"channel_binding":           {env: "PGCHANNELBINDING"},
	"connect_timeout":           {env: "PGCONNECT_TIMEOUT"},
	"dbname":                    {env: "PGDATABASE"},
	"host":                      {env: "PGHOST"},
	"hostaddr":                  {env: "PGHOSTADDR"},
	"port":                      {env: "PGPORT"},
	"client_encoding":           {env: "PGCLIENTENCODING"},
	"options":                   {env: "PGOPTIONS"},
	"application_name":          {env: "PGAPPNAME"},
	"fallback_application_name": {},
	"keepalives":                {unsupported: true},
	"keepalives_idle":           {unsupported: true},
	"keepalives_interval":       {unsupported: true},
	"keepalives_count":          {unsupported: true},
	"tcp_user_timeout":          {unsupported: true},
	"sslmode":                   {env: "PGSSLMODE"},
	"sslnegotiation":            {env: "PGSSLNEGOTIATION"},
	"sslcompression":            {env: "PGSSLCOMPRESSION", unsupported: true},
	"sslcert":                   {env: "PGSSLCERT"},
	"sslkey":                    {env: "PGSSLKEY"},
	"sslcertmode":               {env: "PGSSLCERTMODE"},
	"sslpassword":               {env: "PGSSLPASSWORD", secret: true},
	"sslrootcert":               {env: "PGSSLROOTCERT"},
	"sslcrl":                    {env: "PGSSLCRL", unsupported: true},
	"sslcrldir":                 {env: "PGSSLCRLDIR", unsupported: true},
	"sslsni":                    {env: "PGSSLSNI"},
	"requirepeer":               {env: "PGREQUIREPEER", unsupported: true},
	"require_auth":              {env: "PGREQUIREAUTH"},
	"ssl_min_protocol_version":  {env: "PGSSLMINPROTOCOLVERSION", unsupported: true},
	"ssl_max_protocol_version":  {env: "PGSSLMAXPROTOCOLVERSION", unsupported: true},
	"min_protocol_version":      {env: "PGMINPROTOCOLVERSION"},
	"max_protocol_version":      {env: "PGMAXPROTOCOLVERSION"},
	"gssencmode":                {env: "PGGSSENCMODE", unsupported: true},
	"krbsrvname":                {env: "PGKRBSRVNAME"},
	"gsslib":                    {env: "PGGSSLIB", unsupported: true},
	"gssdelegation":             {env: "PGGSSDELEGATION", unsupported: true},
	"replication":               {},
	"target_session_attrs":      {env: "PGTARGETSESSIONATTRS"},
	"load_balance_hosts":        {env: "PGLOADBALANCEHOSTS", unsupported: true},
	"scram_client_key":          {secret: true, unsupported: true},
	"scram_server_key":          {secret: true, unsupported: true},
	"oauth_issuer":              {unsupported: true},
	"oauth_client_id":           {unsupported: true},
	"oauth_client_secret":       {secret: true, unsupported: true},
	"oauth_scope":               {unsupported: true},
}

// pgxOnlyEnv holds environment variables that pgx reads although they are not
// libpq connection keywords, so that their effect is still reported.
var pgxOnlyEnv = map[string]string{"PGTZ": "timezone"}

// enumerations lists the keywords whose value must be one of a fixed set, in
// the order libpq's documentation lists them. allowEmpty is true where pgx
// treats an empty value as the default rather than an error.
var enumerations = map[string]struct {
	values     []string
	allowEmpty bool
}{
	"sslmode":              {[]string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}, true},
	"sslnegotiation":       {[]string{"postgres", "direct"}, true},
	"target_session_attrs": {[]string{"any", "read-write", "read-only", "primary", "standby", "prefer-standby"}, false},
	"sslcertmode":          {[]string{"disable", "allow", "require"}, false},
	"channel_binding":      {[]string{"disable", "prefer", "require"}, true},
	"sslsni":               {[]string{"0", "1"}, true},
	"min_protocol_version": {[]string{"3.0", "3.2", "latest"}, true},
	"max_protocol_version": {[]string{"3.0", "3.2", "latest"}, true},
	"gssencmode":           {[]string{"disable", "prefer", "require"}, true},
	"load_balance_hosts":   {[]string{"disable", "random"}, true},
}

// paramOrder is the order of Params: the keywords people look at first.
var paramOrder = []string{
	"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service", "sslmode", "sslnegotiation",
	"sslrootcert", "sslcert", "sslkey", "connect_timeout", "target_session_attrs", "application_name",
}

const mask = "********"
