// Package faultproxy is a PostgreSQL-aware TCP proxy that injects the faults
// applications meet in production (errors at connection start, refused and
// silent servers, resets, terminated sessions, latency, a read-only primary,
// a slow network) so that a test can check that the application retries.
// Unlike a TCP-level proxy it speaks the startup phase of the PostgreSQL
// protocol: it answers SSLRequest itself (terminating TLS towards the client),
// refuses GSSENCRequest with 'N', forwards CancelRequest to the upstream so
// query cancellation works through it, and sends errors with the exact fields
// a PostgreSQL 15 server sends.
//
// # Starting
//
// Start a proxy in front of a server, point the application at Addr, and
// change faults while it runs:
//
//	p, err := faultproxy.Start(ctx, faultproxy.Config{
//		Listen:   "127.0.0.1:0",
//		Upstream: "127.0.0.1:5432",
//	})
//	if err != nil { ... }
//	defer p.Close()
//	f, _ := p.Add(faultproxy.Fault{Kind: faultproxy.KindError, Cause: catalog.ServerStartingUp})
//	// ... connections now fail with 57P03 "the database system is starting up"
//	p.Remove(f.ID)
//
// Close stops accepting, ends every session and waits for every goroutine the
// proxy started, so a test that closes the proxy leaks nothing.
//
// Proxy.Handler is an HTTP control API (GET/POST/DELETE /faults, GET
// /sessions) over the same methods, as served by `pgtriage proxy --control`.
//
// Package faultproxy/scenario plays timelines of faults on a proxy
// (scenario files, the built-in failover and others) and reports what each
// client experienced, as `pgtriage rehearse` does.
//
// # Faults
//
// Each Fault applies to all new connections, or with Share in (0,1) to that
// fraction of them, decided once per connection and fault (deterministically
// from Config.Seed when it is set). Faults act where a server would:
//
//   - refuse: new connections are refused. For every connection (Share 1)
//     the proxy closes its listener, so the kernel refuses the TCP handshake
//     ("connection refused", ECONNREFUSED), exactly as for a server that is
//     down, and listens again on the same address when the fault goes;
//     sessions already open go on. A handshake cannot be refused for only a
//     share of connections: with Share below 1 those are closed with a RST at
//     once, before any byte is read ("connection reset by peer").
//   - blackhole: the connection is accepted and never answered nor closed
//     (until the fault is removed or the proxy closes).
//   - reset: a RST (SO_LINGER 0) at accept (At "accept"), after the startup
//     handshake reached ReadyForQuery (At "startup"), or once Bytes bytes
//     have passed in the session in both directions together, counted from
//     the session start (At "bytes").
//   - error: the startup is answered with the ErrorResponse a PostgreSQL 15
//     server sends for Cause, at the point the server sends it: before
//     authentication for limits.too_many_connections, server.starting_up,
//     server.shutting_down, server.recovery and auth.hba_rejected (the proxy
//     answers alone); after authentication with the upstream for
//     limits.reserved_slots, db.not_found and auth.role_not_found (the client
//     sees AuthenticationOk, then the error); in place of the server's answer
//     to the password for auth.password_failed. A client that asked for TLS
//     gets it inside TLS, as from a server.
//   - terminate: one-shot. Add ends the sessions that are live at that moment
//     (the Share of them) with FATAL 57P01 "terminating connection due to
//     administrator command" (Cause server.terminated, the default) or, with
//     Cause "57P02", what a server sends when another server process crashed:
//     since PostgreSQL 14 a WARNING (a NoticeResponse, not an error) 57P02
//     "terminating connection because of crash of another server process"
//     with its DETAIL and HINT, after which the connection closes. Either is
//     sent between two server messages. It is not kept: Faults does not list
//     it, and sessions that start later are not affected.
//   - latency: every chunk of bytes in Direction is held for Delay before it
//     is forwarded.
//   - read_only: new sessions start with default_transaction_read_only=on in
//     the forwarded StartupMessage, so the real server answers writes with its
//     own 25006 "cannot execute INSERT in a read-only transaction" and reports
//     the parameter, as a primary turned standby would for writes. It applies
//     to sessions that start while it is active.
//   - trickle: bytes in Direction are forwarded at Rate bytes per second.
//   - lose_answer: a simple-protocol Query whose first word is Statement
//     (any case; default COMMIT, which is how pgx's Tx.Commit and most
//     drivers commit) goes to the upstream as usual, but its answer is held
//     until it shows how the query went. At ReadyForQuery without an
//     ErrorResponse the proxy closes the client's connection (a FIN, as when
//     a server process ends) and the upstream one instead of passing the
//     answer on: the query took effect and the client cannot know, as after
//     a failover or a network cut at the wrong moment. An error (or a COPY)
//     is passed on at once, and the answer is not counted. Count bounds the
//     answers lost (0: every matching one while the fault is in force); each
//     loss is a fault event whose Detail names the statement. The extended
//     protocol (Parse/Bind/Execute) is not watched: drivers send COMMIT as a
//     simple query, and a statement prepared once and executed later cannot
//     be matched by its first word at Execute. A client that pipelines
//     queries behind the matching one loses their answers with it.
//   - idle_cut: a session that carried no byte either way for longer than
//     Idle is forgotten, as by a NAT gateway, load balancer or firewall with
//     an idle timeout: the first byte after that (the client's next query) is
//     dropped and, with Mode "silent" (the default), so is every later byte
//     both ways, so the client waits for its own deadline; with Mode "reset"
//     the client gets a TCP reset at once. The idle time counts from the
//     last byte, or from when the fault first acts on the session. Each cut
//     is a fault event whose Detail says how long the session was idle.
//
// When the upstream cannot be reached the client connection is closed after
// its StartupMessage (the client sees EOF), with the reason in the closed
// event.
//
// Latency, trickle, reset at "bytes", lose_answer and idle_cut apply to live sessions
// too: adding or removing them switches the copy loops at once. Without such a fault a
// session's bytes are copied as they come; only the server's message headers
// are followed, so that a terminate lands between two messages.
//
// # How bytes are copied
//
// A session that no fault shapes (plain TCP, or TLS terminated at the
// proxy towards the client with a plain upstream) is copied by one event
// loop per proxy: a goroutine blocked in an epoll instance of its own that
// owns duplicates of the sessions' sockets, reads what a socket has and
// writes it to the other side at once, and waits for a socket to take more
// only when a write fell short. That is how PgBouncer works, and it costs a
// transaction about the system calls PgBouncer makes (a read and a write
// each way and part of an epoll_wait), where a pair of goroutines per
// session also paid Go's scheduler for waking them. A change of the faults
// that shapes a session, or a terminate, takes the session out of the loop,
// with the bytes it had read but not written, to a pair of goroutines that
// copy it from then on; TLS towards the upstream is always copied that way.
// One loop is one thread's worth of copying, as for PgBouncer.
//
// # Events and secrets
//
// Config.OnEvent receives one Event per thing that happened (accepted,
// session, fault, closed). Events never carry passwords: the proxy forwards
// PasswordMessage and SASL messages without reading their contents.
package faultproxy
