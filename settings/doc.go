// Package settings resolves PostgreSQL connection settings the way libpq does
// and says where each one came from.
//
// Many failing connections are not network or server problems at all: a typo
// in a keyword, a PGSSLMODE left in the environment, a service file section
// that overrides the host, a ~/.pgpass that libpq ignores because it is
// world-readable. [Load] parses a URL or keyword/value string with pgx's
// [pgconn.ParseConfigWithOptions] (so that the Config is the one pgx will
// really use) and adds what pgx does not do:
//
//   - Provenance: every effective keyword is listed in [Settings.Params] with
//     its [Source]: the connection string, an environment variable, a service
//     file section, a password file line, or a default.
//   - libpq's validation: unknown keywords and bad values are errors that name
//     the keyword, the value and its source (pgx would send unknown keywords to
//     the server as run-time parameters).
//   - libpq's password file rules: a file that the group or others can read is
//     ignored, and the file is searched for each host.
//   - libpq keywords that pgx lacks: hostaddr (dial an address, verify TLS
//     against the host name), PGSYSCONFDIR/pg_service.conf,
//     fallback_application_name.
//   - [Warning]s about settings that work but are risky.
//
// Secrets (password, sslpassword) never appear in Params values, errors or
// [Settings.Target].
//
// # Usage
//
//	s, err := settings.Load("") // PG* environment and defaults, like psql
//	if err != nil {
//		var se *settings.Error
//		errors.As(err, &se) // se.Keyword, se.Value
//	}
//	conn, err := pgconn.ConnectConfig(ctx, s.Config)
package settings
