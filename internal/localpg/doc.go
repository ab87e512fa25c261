// Package localpg starts throwaway PostgreSQL clusters on this machine, for pgtriage's tests (through
// internal/pgtest), for `pgtriage demo` and for the experiments under bench/.
//
// Start copies a template data directory (made once per machine by initdb), writes the configuration asked for
// (TLS files, pg_hba.conf lines, connection limits, roles, databases), and starts the server on a free loopback port:
//
//	c, err := localpg.Start(ctx, localpg.Options{Roles: []localpg.Role{{Name: "app", Password: "secret"}}})
//	if err != nil { ... }
//	defer c.Close()
//	conn, err := pgx.Connect(ctx, c.ConnString("user=app", "password=secret", "dbname=postgres"))
//
// Stop, Resume and Restart drive the server's life cycle with pg_ctl, for rehearsing restarts for real.
//
// The server binaries come from PG_BINDIR, else the highest version under /usr/lib/postgresql/*/bin (Debian's
// postgresql package), else PATH. PostgreSQL refuses to run as root, so when the caller is root the server runs as
// the "postgres" system user and its files belong to that user. Each cluster directory names the process that made
// it, and the first Start of a process removes the clusters of processes that died without Close: only directories
// that the file system says are this user's (another user can make a localpg-* directory too), and it stops only a
// process that /proc shows to be the postmaster of that directory, with signals sent as the server user.
package localpg
