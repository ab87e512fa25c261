// Package probe diagnoses one PostgreSQL connection layer by layer and ends in one verdict.
//
// # Stages
//
// A check runs the stages a connection goes through, and stops at the first that fails:
//
//	settings   the libpq-compatible settings and where each came from (package settings)
//	dns        A and AAAA records of every host, in parallel
//	tcp        a connection to every address of every host, in parallel, each with its own deadline
//	protocol   SSLRequest (or direct TLS); a peer that is not PostgreSQL is named at once
//	tls        version, cipher, chain, names and expiry, verified as sslmode asks; failures named precisely
//	startup    the authentication method the server asks for, and whether pg_hba admits the client,
//	           learnt before any password is sent
//	auth       the password exchange
//	server     version, recovery, uptime, connection usage and limits, the client address the server sees,
//	           read-only state and target_session_attrs
//
// One connection carries protocol, tls, startup, auth and server: the probe opens it, negotiates TLS itself (so that
// it can see the certificate chain whatever the outcome) and hands it to pgx for the startup, recording the protocol
// messages for the trace. It never sends a password the server did not ask for, never writes, and opens one more
// connection only to tell tls.required from auth.hba_rejected (without a password).
//
// # Verdict
//
// [Run] returns a [Report]: the stages, findings (warnings that do not stop the connection), server facts and one
// [Diagnosis] whose code, category, transient flag, summary and steps come from package catalog. [Report.ExitCode]
// gives pg_isready's meaning: 0 connected, 1 a server answered but refused, 2 no server answered, 3 no attempt.
package probe
