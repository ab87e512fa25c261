// Package probe diagnoses one PostgreSQL connection layer by layer and ends in one verdict.
//
// # Stages
//
// A check runs the stages a connection goes through, and stops at the first that fails:
//
//	settings   the libpq-compatible settings and where each came from (package settings)
//	dns        A and AAAA records of every host, in parallel, and the CNAME chain; a private-link name that resolved
//	           to a public address, or a managed service's public name that resolved to a private one, is named
//	tcp        a connection to every address of every host, in parallel, each with its own deadline
//	protocol   SSLRequest (or direct TLS); a peer that is not PostgreSQL is named at once
//	tls        version, cipher, chain, names and expiry, verified as sslmode asks; failures named precisely
//	startup    the authentication method the server asks for, and whether pg_hba admits the client,
//	           learnt before any password is sent
//	auth       the password exchange
//	server     version, recovery, uptime, connection usage and limits, the client address the server sees,
//	           read-only state and target_session_attrs
//	mtu        a 64 KB result with a deadline of its own: a stall after the small results passed is a path-MTU
//	           black hole
//
// One connection carries protocol, tls, startup, auth and server: the probe opens it, negotiates TLS itself (so that
// it can see the certificate chain whatever the outcome) and hands it to pgx for the startup, recording the protocol
// messages for the trace. It never sends a password the server did not ask for, never writes, and opens one more
// connection only to tell tls.required from auth.hba_rejected (without a password).
//
// The password, when it is an access token (package token), is read locally, and what is wrong with it comes before
// the server's generic answer: an expired token, or one for another audience or host, is the verdict rather than
// "password authentication failed". A host whose addresses are all of one family that this client cannot route is
// named as an IPv6-only (or IPv4-only) server.
//
// # Idle cuts
//
// [FindIdleCut] finds how long a connection may sit idle before a middle box forgets it, with several sessions
// idling at once; see its documentation for the search.
//
// # Verdict
//
// [Run] returns a [Report]: the stages, findings (warnings that do not stop the connection), server facts and one
// [catalog.Diagnosis] whose code, category, transient flag, summary and steps come from package catalog. [Report.ExitCode]
// gives pg_isready's meaning: 0 connected, 1 a server answered but refused, 2 no server answered, 3 no attempt.
package probe
