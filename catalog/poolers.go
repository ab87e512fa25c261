package catalog

import "strings"

// Codes of the connection poolers and the providers' front doors (PgBouncer, Azure's built-in PgBouncer, Supavisor,
// PgCat, PgDog, RDS Proxy, Neon's proxy): failures that the pooler itself decides, in front of the server.
const (
	PoolerDBNotFound         Code = "pooler.db_not_found"
	PoolerTenantNotFound     Code = "pooler.tenant_not_found"
	PoolerClientLimit        Code = "pooler.client_limit"
	PoolerWaitTimeout        Code = "pooler.wait_timeout"
	PoolerServerLoginFailed  Code = "pooler.server_login_failed"
	PoolerServerUnavailable  Code = "pooler.server_unavailable"
	PoolerSessionTimeout     Code = "pooler.session_timeout"
	PoolerUnsupportedParam   Code = "pooler.unsupported_parameter"
	PoolerTLSRequired        Code = "pooler.tls_required"
	PoolerPaused             Code = "pooler.paused"
	PoolerAuthQueryFailed    Code = "pooler.auth_query_failed"
	PoolerPreparedStatements Code = "pooler.prepared_statements"
	ProviderQuotaExceeded    Code = "provider.quota_exceeded"
	ProviderEndpointDisabled Code = "provider.endpoint_disabled"
	ProviderIAMAuthFailed    Code = "provider.iam_auth_failed"
	ProviderProxyCredentials Code = "provider.proxy_no_credentials"
)

// poolerCauses are the rows of the poolers and front doors. Every text pattern names where its words come from:
// a file of the pooler's source (PgBouncer 1.18 to 1.25 src/*.c; Supavisor lib/supavisor/errors/*.ex; PgCat
// src/client.rs; PgDog pgdog/src/net/messages/error_response.rs; Neon proxy/src/...) or the provider's documentation
// page. PgBouncer sends its own errors with SQLSTATE 08P01 (src/proto.c send_pooler_error) unless it forwards the
// server's, so its words, not its SQLSTATE, tell them apart.
var poolerCauses = []Cause{
	{
		Code: PoolerDBNotFound, Category: Configuration,
		Summary: "The connection pooler has no pool for database {database}: its configuration does not list it (PgBouncer's [databases], PgCat's and PgDog's pools).",
		steps: []string{
			"Check the database name: the pooler's name for it may differ from the server's (PgBouncer maps `name = host=... dbname=...` in [databases]).",
			"Add the database to the pooler's configuration (for PgBouncer a line in [databases], or a `*` fallback line) and reload the pooler.",
			"PgDog's message also covers a wrong password: check the user's password in users.toml.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Azure's built-in PgBouncer (port 6432) serves only databases that exist on the server: check the name with `psql -p 5432 -l`, and connect to port 5432 to compare.",
			},
		},
		matchers: []matcher{
			// PgBouncer src/objects.c find_or_register_database path: "no such database: %s"; PgCat src/client.rs
			// "No pool configured for database: ..., user: ..."; PgDog error_response.rs ErrorResponse::auth.
			{text: []string{"no such database:", "no pool configured for database", "re:password for user \"[^\"]*\" and database \"[^\"]*\" is wrong, or the database does not exist"}},
		},
	},
	{
		Code: PoolerTenantNotFound, Category: Configuration,
		Summary: "The provider's pooler or proxy could not tell which project (tenant, endpoint) the connection is for, or does not know it: the user name, the host name (SNI) or the options name a project it does not have.",
		steps: []string{
			"Copy the connection string again from the provider's console: the host (region) and the user name must both belong to the project.",
			"A client without SNI cannot name the endpoint by host name: pass it in the options instead (Neon: options=endpoint%3D<endpoint-id>).",
		},
		providerSteps: map[Provider][]string{
			Supabase: {
				"Through Supavisor the user name is postgres.<project-ref> (not plain postgres), and the pooler host must be in the project's region (aws-0-<region>.pooler.supabase.com): copy both from Connect in the project's dashboard.",
				"A project paused or just restored is not known to the pooler until it runs: restore it, then retry.",
			},
			Neon: {
				"Use a client with SNI support (libpq 14 or later), or pass the endpoint ID (the first part of the host name) as options=endpoint%3D<endpoint-id> or in the password as endpoint=<endpoint-id>;<password>.",
				"Check that the endpoint still exists in the Neon console: a deleted branch takes its endpoint with it.",
			},
		},
		matchers: []matcher{
			// Supavisor (before 2.0) "Tenant or user not found"; Supavisor errors/tenant_or_user_not_found_error.ex
			// "(ENOTFOUND) tenant/user u.t not found"; no_tenant_identifier_error.ex; Neon proxy/src/auth/mod.rs
			// MissingEndpointName; proxy/src/control_plane/messages.rs (404).
			{text: []string{"tenant or user not found", "re:tenant/user \\S+ not found", "no tenant identifier provided", "endpoint id is not specified", "control plane request failed: endpoint cannot be found", "vpc endpoint id is not specified"}},
		},
	},
	{
		Code: PoolerClientLimit, Category: Limits, Transient: true,
		Summary: "The connection pooler refused the client: it already holds as many client connections as it allows (PgBouncer's max_client_conn, a provider's client limit).",
		steps: []string{
			"Retry with backoff: the limit frees up as clients disconnect.",
			"Look for clients that hold pooler connections they do not use (an application pool per process or per request, leaked connections); the pooler's `SHOW CLIENTS` lists them.",
			"Raise the pooler's client limit (PgBouncer: max_client_conn, max_db_client_connections, max_user_client_connections); it costs the pooler little, unlike the server's max_connections.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Retry with backoff: the limit frees up as clients disconnect.",
				"Raise the built-in PgBouncer's pgbouncer.max_client_conn server parameter (`az postgres flexible-server parameter set --resource-group {resource_group} --server-name {server} --name pgbouncer.max_client_conn --value <n>`).",
			},
			Supabase: {
				"Retry with backoff: the limit frees up as clients disconnect.",
				"Supavisor's client limit follows the compute size: use transaction mode (port 6543), which shares server connections, or a larger compute.",
			},
			RDS: {
				"Retry with backoff: the limit frees up as clients disconnect.",
				"Raise the proxy's MaxConnectionsPercent, or the DB instance's max_connections on which it is based; lower the rate of new connections.",
			},
			Neon: {
				"Retry with backoff: the limit frees up as clients disconnect.",
				"Use the pooled endpoint (host name with -pooler) for many short connections, and connect less often.",
			},
		},
		matchers: []matcher{
			// PgBouncer src/client.c: "no more connections allowed (max_client_conn)", "client connections exceeded
			// (max_db_client_connections)" and "(max_user_client_connections)"; Supavisor
			// errors/max_connections_error.ex; RDS Proxy troubleshooting page; Neon proxy/src/auth/mod.rs
			// TooManyConnections and proxy/src/control_plane/errors.rs.
			{text: []string{"no more connections allowed (max_client_conn)", "no more connections allowed", "client connections exceeded (max_db_client_connections)", "client connections exceeded (max_user_client_connections)", "max client connections reached", "max clients reached in session mode", "the maximum number of client connections to the proxy exceeded", "rate of connection to proxy exceeded", "too many connections to this endpoint", "too many connections attempts", "max pools count reached"}},
		},
	},
	{
		Code: PoolerWaitTimeout, Category: Limits, Transient: true,
		Summary: "Every server connection of the pooler's pool stayed busy until the pooler gave up on this client (PgBouncer's query_wait_timeout): the pool is too small for the load, or sessions hold server connections too long.",
		steps: []string{
			"Retry: the pool frees up as transactions end.",
			"Find what holds the server connections: long transactions, idle-in-transaction sessions, or session pooling where clients keep a server connection while idle (`SHOW POOLS`: cl_waiting, sv_active).",
			"Use transaction pooling where the application allows it, or raise the pool size (PgBouncer: default_pool_size, pool_size, reserve_pool_size) within the server's max_connections.",
			"If the pooler's log shows failing server connections (\"closing because: connect failed\", \"server login failed\"), the pool is empty, not busy: the server behind it is down or refuses the pooler.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Retry: the pool frees up as transactions end.",
				"Raise pgbouncer.default_pool_size or use pgbouncer.pool_mode=transaction on the server's parameters; pgbouncer.query_wait_timeout sets how long a client waits.",
				"Find long or idle-in-transaction sessions: `SELECT pid, state, xact_start, query FROM pg_stat_activity WHERE state <> 'idle' ORDER BY xact_start`.",
			},
			RDS: {
				"Retry: the pool frees up as transactions end.",
				"Raise the proxy's MaxConnectionsPercent or ConnectionBorrowTimeout, and look for session pinning (the proxy's DatabaseConnectionsCurrentlySessionPinned metric), which keeps a server connection per client.",
			},
		},
		matchers: []matcher{
			// PgBouncer src/janitor.c "query_wait_timeout"; PgCat src/client.rs "could not get connection from the
			// pool"; PgDog pgdog/src/backend/pool/error.rs "checkout timeout"; Supavisor
			// errors/checkout_timeout_error.ex; RDS Proxy troubleshooting page.
			{text: []string{"query_wait_timeout", "could not get connection from the pool", "unable to check out connection from the pool after", "timed-out waiting to acquire database connection", "failed to check out a connection after multiple retries"}},
			{text: []string{"checkout timeout"}, weak: true},
		},
	},
	{
		Code: PoolerServerLoginFailed, Category: Configuration,
		Summary: "The server refuses the pooler's own login (the credentials or database of the pooler's configuration): every client of this pool is refused until that is fixed.",
		steps: []string{
			"Read the error the pooler cached (in the message after \"cached error:\", and in the pooler's log as \"server login failed\"): it is the server's answer to the pooler, not to you.",
			"Fix the pooler's credentials for the server: the password in its auth_file (userlist.txt), in the [databases] line (password=), or in the secret it reads; with auth_query, the auth_user's password.",
			"Then reload the pooler (PgBouncer: `RELOAD` on the admin console, or SIGHUP); it retries every server_login_retry seconds.",
		},
		providerSteps: map[Provider][]string{
			RDS: {
				"Add a Secrets Manager secret for {user} to the proxy's authentication, or fix its username and password to match the database role (`aws rds modify-db-proxy --auth ...`).",
				"Give the proxy's IAM role secretsmanager:GetSecretValue on that secret.",
			},
		},
		matchers: []matcher{
			// PgBouncer src/objects.c check_fast_fail: "server login has been failing, try again later
			// (server_login_retry)" (1.18) and "..., cached error: %s (server_login_retry)" (1.22 on);
			// src/proto.c "server login failed: ..."; RDS Proxy troubleshooting page.
			{text: []string{"re:server login has been failing, cached error: [^\\n]*authentication failed", "re:server login has been failing, cached error: [^\\n]*does not exist", "re:server login has been failing, cached error: [^\\n]*not permitted", "server login failed:"}},
		},
	},
	{
		Code: PoolerServerUnavailable, Category: Availability, Transient: true,
		Summary: "The pooler answered, but its recent attempts to connect or log in to the server behind it failed (the server is down, restarting or unreachable from the pooler, or refuses the pooler's login).",
		steps: []string{
			"Check the server behind the pooler: is it running, and can the pooler's host reach it (`pg_isready -h <server> -p <port>` from the pooler's host)?",
			"Read the pooler's log for the server-side error (PgBouncer: \"closing because: connect failed\", or \"server login failed\" with the server's refusal of the pooler's credentials).",
			"If the server was restarting (maintenance, failover), retry in a minute; PgBouncer tries again every server_login_retry seconds.",
		},
		providerSteps: map[Provider][]string{
			Supabase: {
				"Check that the project is running (not paused) in the dashboard, and retry in a minute after a restart or upgrade.",
			},
			Neon: {
				"The compute may be starting or restarting: retry in a few seconds; check the endpoint's state and the project's quotas in the Neon console.",
			},
		},
		matchers: []matcher{
			// PgBouncer src/janitor.c "client_login_timeout (server down)", src/server.c "server conn crashed?"; PgCat
			// src/client.rs "Pool down for database"; PgDog ErrorResponse::connection; Supavisor
			// errors/db_handler_exited_error.ex; Neon proxy/src/compute (COULD_NOT_CONNECT) and
			// control_plane/messages.rs (423).
			// PgBouncer 1.18 says "server login has been failing, try again later" after a failed connect as after a
			// refused login (src/objects.c check_fast_fail, pool->last_login_failed), as a test with the server
			// stopped behind it shows; 1.22 on names the cached error, which the row above reads where it is a login.
			{text: []string{"server login has been failing, try again later", "re:server login has been failing, cached error:", "client_login_timeout (server down)", "server conn crashed?", "pool down for database", "re:connection pool for user \"[^\"]*\" and database \"[^\"]*\" is down", "dbhandler exited", "couldn't connect to compute node", "endpoint is temporarily unavailable", "pgbouncer cannot connect to server", "all replicas down"}},
		},
	},
	{
		Code: PoolerSessionTimeout, Category: Timeout, Transient: true,
		Summary: "The pooler closed the session because one of its own time limits ran out (client_idle_timeout, idle_transaction_timeout, query_timeout, client_login_timeout).",
		steps: []string{
			"Reconnect: the pooler accepts a new session at once.",
			"Make the application's pool close idle connections before the pooler does (a maximum idle time below the pooler's client_idle_timeout), and validate connections before use.",
			"For idle_transaction_timeout and query_timeout: end transactions promptly, or raise the limit the message names.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Reconnect: the pooler accepts a new session at once.",
				"The built-in PgBouncer's limits are server parameters (pgbouncer.client_idle_timeout, pgbouncer.query_wait_timeout): make the application's pool close idle connections first.",
			},
		},
		matchers: []matcher{
			// PgBouncer src/janitor.c; PgCat src/client.rs "idle transaction timeout", "pool statement timeout"; PgDog
			// ErrorResponse::client_idle_timeout and client_login_timeout.
			{text: []string{"client_idle_timeout", "idle transaction timeout", "idle_transaction_timeout", "client_login_timeout", "re:fatal:\\s+query_timeout", "re:error:\\s+query_timeout", "re:^query_timeout", "pool statement timeout", "disconnecting idle client", "disconnecting idle in transaction client", "suspend_timeout"}},
		},
	},
	{
		Code: PoolerUnsupportedParam, Category: Configuration,
		Summary: "The pooler refused a startup parameter the client sent (PgBouncer accepts only a few unless ignore_startup_parameters lists the others): typically extra_float_digits from PgJDBC, or options= from psql, search_path from an ORM.",
		steps: []string{
			"Add the parameter to the pooler's ignore_startup_parameters (PgBouncer: `ignore_startup_parameters = extra_float_digits, options`; from 1.20 also track_extra_parameters for ones to keep) and reload it.",
			"Or stop the client from sending it (for PgJDBC, assumeMinServerVersion=9.0 sends extra_float_digits in the startup; remove options=-c... from the connection string and SET it after connecting).",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Add the parameter to the built-in PgBouncer's pgbouncer.ignore_startup_parameters server parameter (`az postgres flexible-server parameter set --resource-group {resource_group} --server-name {server} --name pgbouncer.ignore_startup_parameters --value extra_float_digits`).",
				"Or stop the client from sending it; SET it after connecting instead.",
			},
			RDS: {
				"RDS Proxy supports few startup options: remove the one it names from the connection string and SET it after connecting (or in the DB parameter group).",
			},
		},
		matchers: []matcher{
			// PgBouncer src/client.c set_startup_options: "unsupported startup parameter: %s", "unsupported startup
			// parameter in options: %s", "unsupported options startup parameter: ..."; RDS Proxy troubleshooting page.
			{text: []string{"unsupported startup parameter", "unsupported options startup parameter", "rds proxy currently doesn't support the option", "rds proxy currently doesn't support command-line options"}},
		},
	},
	{
		Code: PoolerTLSRequired, Category: TLS,
		Summary: "The pooler admits clients only over TLS (PgBouncer's client_tls_sslmode=require or stricter), but the connection was not encrypted.",
		steps: []string{
			"Connect with sslmode=verify-full (or at least sslmode=require) instead of sslmode={sslmode}.",
			"If the pooler should admit clients in the clear on a trusted network, lower its client_tls_sslmode to prefer.",
		},
		providerSteps: map[Provider][]string{
			Neon: {"Connect with sslmode=require (better verify-full with sslrootcert=system): Neon admits only TLS connections."},
			RDS: {
				"Connect with sslmode=require or better: the proxy has Require Transport Layer Security on, and IAM authentication always needs TLS.",
			},
		},
		matchers: []matcher{
			// PgBouncer src/client.c: "SSL required"; PgDog ErrorResponse::tls_required; Supavisor
			// errors/ssl_required_error.ex; Neon proxy/src/auth (ERR_INSECURE_CONNECTION); RDS Proxy troubleshooting.
			{text: []string{"re:fatal:\\s+ssl required", "re:error:\\s+ssl required", "re:^ssl required", "only tls connections are allowed", "ssl connection is required for user", "this rds proxy requires tls connections", "iam authentication is allowed only with ssl connections", "iam is allowed only with ssl connections"}},
			// Neon's refusal of a connection without TLS comes after psql's sslmode=prefer tried TLS first and failed for
			// another reason, which is the one to act on.
			{text: []string{"connection is insecure (try using"}, weak: true},
		},
	},
	{
		Code: PoolerPaused, Category: Availability, Transient: true,
		Summary: "The pooler is shutting down, paused, or has this database disabled, and does not take new sessions for it.",
		steps: []string{
			"Retry in a moment: a pooler restarts quickly, and PAUSE or SUSPEND usually lasts only through maintenance.",
			"If it lasts, ask the pooler's administrator (PgBouncer admin console: `SHOW DATABASES` shows paused and disabled; `RESUME` and `ENABLE` end them).",
		},
		matchers: []matcher{
			// PgBouncer src/objects.c "pooler is shutting down", "database \"%s\" is disabled", "pause failed",
			// src/janitor.c "server shutting down"; PgDog ErrorResponse::shutting_down; Supavisor
			// errors/pool_terminating_error.ex.
			{text: []string{"pooler is shutting down", "re:database \"[^\"]*\" is disabled", "pgdog is shutting down", "re:fatal:\\s+server shutting down", "re:error:\\s+server shutting down", "re:^server shutting down", "re:fatal:\\s+pause failed", "re:error:\\s+pause failed", "re:^pause failed", "pool is terminating", "tenant is banned"}},
		},
	},
	{
		Code: PoolerAuthQueryFailed, Category: Configuration,
		Summary: "The pooler could not look up the client's password on the server (its auth_query, or the provider's secret lookup), so it could not authenticate the client.",
		steps: []string{
			"Check the pooler's auth_user and auth_query: the auth_user must log in to the server and may run the query (on PostgreSQL 14+ a SECURITY DEFINER function that reads pg_shadow is usual).",
			"Read the pooler's log: it records the server's error to the auth query.",
		},
		matchers: []matcher{
			// Supavisor errors/auth_query_error.ex, errors/auth_secrets_error.ex; PgBouncer src/client.c (logged
			// "error in auth_query").
			{text: []string{"authentication query failed", "no auth_query configured for this tenant", "failed to retrieve authentication secrets", "error in auth_query", "unexpected response from auth_query"}},
		},
	},
	{
		Code: PoolerPreparedStatements, Category: Configuration,
		Summary: "A prepared statement was missing (or already there) on the server connection: behind a transaction-pooling pooler a statement prepared on one server connection is not on the next, unless the pooler tracks prepared statements.",
		steps: []string{
			"Turn on the pooler's prepared-statement support (PgBouncer 1.21+: max_prepared_statements = 200; Supavisor and PgDog track them), or use session pooling.",
			"Or stop the driver from preparing named statements: pgx default_query_exec_mode=cache_describe or simple_protocol (QueryExecModeExec/SimpleProtocol); PgJDBC prepareThreshold=0; Npgsql Max Auto Prepare=0 (and No Reset On Close=true); lib/pq binary_parameters=yes; Prisma ?pgbouncer=true.",
			"Without a pooler in the path this is an application error: a statement used after DEALLOCATE, or on another connection than it was prepared on.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"The built-in PgBouncer tracks prepared statements only when the server parameter pgbouncer.max_prepared_statements is above 0 (it is 0 by default): set it, for example to 200.",
				"Or stop the driver from preparing named statements: pgx default_query_exec_mode=cache_describe; PgJDBC prepareThreshold=0; Npgsql Max Auto Prepare=0.",
			},
			Supabase: {
				"Transaction mode (port 6543) shares server connections between clients: use session mode (port 5432 on the pooler) or turn off the driver's named prepared statements (pgx default_query_exec_mode=cache_describe, PgJDBC prepareThreshold=0, Prisma ?pgbouncer=true).",
			},
			RDS: {
				"Prepared statements pin the session to its server connection in RDS Proxy; a statement prepared before a failover is gone afterwards: reconnect and prepare again.",
			},
		},
		matchers: []matcher{
			// The server's own words (src/backend/commands/prepare.c FetchPreparedStatement, StorePreparedStatement);
			// PgBouncer src/prepare.c "prepared statement did not exist", "prepared statement name is already in use";
			// PgDog frontend/error.rs; Supavisor errors/prepared_statement_not_found_error.ex, duplicate_... .
			{sqlstate: "26000", text: []string{"re:prepared statement \"[^\"]*\" does not exist", "unnamed prepared statement does not exist"}},
			{sqlstate: "42P05", text: []string{"re:prepared statement \"[^\"]*\" already exists"}},
			{text: []string{"re:prepared statement \"[^\"]*\" does not exist", "unnamed prepared statement does not exist", "re:prepared statement \"[^\"]*\" already exists", "prepared statement did not exist", "prepared statement name is already in use", "re:prepared statement \"[^\"]*\" is missing", "max prepared statements limit reached"}},
		},
	},
	{
		Code: ProviderQuotaExceeded, Category: Limits,
		Summary: "The provider refused the connection because the project has used up a quota of its plan (compute time, data transfer, storage).",
		steps: []string{
			"Check the project's usage and quotas in the provider's console; raise the plan or the project's limits, or wait for the quota period to reset.",
		},
		providerSteps: map[Provider][]string{
			Neon: {
				"Check the project's compute time, data transfer and storage in the Neon console (Billing, Usage): upgrade the plan or raise the project's limits; free-plan quotas reset at the start of the month.",
			},
		},
		matchers: []matcher{
			// Neon's control plane user_facing_message (documented under "Connection errors"), and the proxy's reasons
			// proxy/src/control_plane/messages.rs (COMPUTE_TIME_QUOTA_EXCEEDED ...).
			{text: []string{"exceeded the compute time quota", "exceeded the data transfer quota", "exceeded the written data quota", "exceeded the logical size quota", "compute_time_quota_exceeded", "data_transfer_quota_exceeded"}},
		},
	},
	{
		Code: ProviderEndpointDisabled, Category: Availability,
		Summary: "The provider's endpoint for this database is disabled (by the project's owner or the provider), so its proxy refuses connections.",
		steps: []string{
			"Enable the endpoint (compute) in the provider's console, or connect to another branch's endpoint.",
		},
		matchers: []matcher{
			// Neon proxy/src/control_plane/messages.rs (406).
			{text: []string{"control plane request failed: endpoint is disabled", "endpoint is disabled"}},
		},
	},
	{
		Code: ProviderIAMAuthFailed, Category: Login,
		Summary: "The proxy rejected the IAM authentication token given as the password: it is expired, for another user or host, or the IAM policy does not allow rds-db:connect.",
		steps: []string{
			"Generate a fresh token for this host, port and user (`aws rds generate-db-auth-token --hostname {host} --port {port} --username {user}`) and use it at once: tokens last 15 minutes.",
			"Check that the caller's IAM policy allows rds-db:connect on the proxy's or instance's resource ID for {user}.",
		},
		matchers: []matcher{
			// RDS Proxy troubleshooting page (PostgreSQL).
			{text: []string{"iam authentication failed for user", "iam authentication failed for the role", "the iam authentication failed because of too many competing requests"}},
		},
	},
	{
		Code: ProviderProxyCredentials, Category: Configuration,
		Summary: "The proxy has no credentials for the role {user}: RDS Proxy admits only the roles for which it has a Secrets Manager secret.",
		steps: []string{
			"Add a Secrets Manager secret ({\"username\": ..., \"password\": ...}) for this role to the proxy's authentication (`aws rds modify-db-proxy --auth ...`), and let the proxy's IAM role read it.",
			"The proxy caches secrets: after changing one, wait a minute or two before retrying.",
		},
		matchers: []matcher{
			// RDS Proxy troubleshooting page.
			{text: []string{"rds proxy has no credentials for the role"}},
		},
	},
}

// poolerWords name the pooler whose source holds the words (lower case, as PoolerOf compares): they say who
// answered, not why it failed. PgBouncer's come from src/client.c, src/objects.c and src/janitor.c (its own errors
// carry SQLSTATE 08P01, where PostgreSQL says 28P01 for a failed SASL exchange).
var poolerWords = []struct{ words, name string }{
	{"unsupported startup parameter", "PgBouncer"},
	{"max_client_conn", "PgBouncer"},
	{"server_login_retry", "PgBouncer"},
	{"query_wait_timeout", "PgBouncer"},
	{"client_login_timeout", "PgBouncer"},
	{"no such database:", "PgBouncer"},
	{"fatal: ssl required", "PgBouncer"},
	{"sasl authentication failed (sqlstate 08p01)", "PgBouncer"},
	{"pooler is shutting down", "PgBouncer"},
	{"tenant or user not found", "Supavisor"},
	{"(enotfound) tenant/user", "Supavisor"},
	{"max client connections reached", "Supavisor"},
	{"no pool configured for database", "PgCat"},
	{"pool down for database", "PgCat"},
	{"pgdog", "PgDog"},
	{"rds proxy", "RDS Proxy"},
	{"endpoint id is not specified", "Neon's proxy"},
	{"couldn't connect to compute node", "Neon's proxy"},
	{"control plane request failed", "Neon's proxy"},
}

// PoolerOf names the pooler or front door whose words a message holds, or "" when it names none.
func PoolerOf(message string) string {
	text := lowerASCII(message)
	for _, w := range poolerWords {
		if strings.Contains(text, w.words) {
			return w.name
		}
	}
	return ""
}

// behindPooler are the pooler codes whose failure lies between the pooler and the server: the pooler answered,
// but the server (or the pooler's way to it) failed.
var behindPooler = map[Code]bool{PoolerServerLoginFailed: true, PoolerServerUnavailable: true, PoolerWaitTimeout: true}

// PoolerSide says on which side of a pooler a cause lies: "pooler" when the pooler refused the client itself,
// "server" when the failure lies behind it, "" for a cause that does not name a pooler.
func PoolerSide(code Code) string {
	switch {
	case behindPooler[code]:
		return "server"
	case strings.HasPrefix(string(code), "pooler.") || strings.HasPrefix(string(code), "provider."):
		return "pooler"
	}
	return ""
}
