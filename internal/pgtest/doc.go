// Package pgtest starts throwaway, real PostgreSQL clusters and the network
// fixtures that pgtriage's tests diagnose: generated TLS certificates, a DNS
// server on loopback, and network namespaces with nftables rules.
//
// # Clusters
//
// Start runs initdb into a fresh directory, writes the configuration the test
// asks for (TLS, pg_hba.conf lines, connection limits, roles, databases) and
// starts the server on a free loopback port; t.Cleanup stops it and removes
// every file:
//
//	c := pgtest.Start(t, pgtest.Options{
//		TLS:   true,
//		HBA:   []string{"hostssl all all 127.0.0.1/32 scram-sha-256"},
//		Roles: []pgtest.Role{{Name: "app", Password: "secret"}},
//	})
//	conn, err := pgconn.Connect(ctx, c.ConnString("user=app", "password=secret",
//		"sslmode=verify-full", "sslrootcert="+c.CAFile, "host=localhost"))
//
// Clusters come from internal/localpg (which see for where the server binaries come from, and why the server runs
// as the "postgres" user when the tests run as root); without server binaries Start skips the test. A cluster is a
// copy of a template data directory and takes about 0.4 to 1 s to start on a two-core machine and some 25 MB of
// memory, so run at most a few at once (go test's default -parallel, GOMAXPROCS, is right). Stop, Resume, Restart
// and StopSmart drive a cluster's life cycle for tests of restarts and outages.
//
// # Leftovers
//
// t.Cleanup stops servers and deletes namespaces even when a test fails or
// panics, but not when go test -timeout kills the test binary. So that such
// leftovers do not pile up, the first Start or NewNetns of a test binary
// removes the clusters and namespaces of test binaries that are no longer
// running.
//
// # Certificates
//
// NewCA and CA.Issue make ECDSA P-256 certificates for servers and clients,
// including expired ones or ones for the wrong names (Options.ServerCert).
//
// # DNS
//
// StartDNS answers A and AAAA queries from a map on 127.0.0.1, on UDP and TCP,
// follows CNAME chains the test sets as a recursive resolver does,
// and can be told to answer SERVFAIL or nothing for a name. Its Resolver never
// asks the system's resolver.
//
// # Hostile servers
//
// StartHostile serves a fake PostgreSQL server on loopback that misbehaves as no real one can be made to on demand:
// endless notices, endless 16 MB parameters, a 1 GB error, a bogus SCRAM exchange, a startup that never ends. It
// speaks the real protocol through pgproto3.
//
// # Network namespaces
//
// NewNetns gives a test addresses in a network namespace of its own, reached
// from the host through a veth pair, where nftables rules drop or reject
// packets for real. It needs root, ip and nft, and skips the test otherwise.
// All traffic stays on this machine: the namespace has no route but the one
// back to the host. Forward puts a server of the host (a cluster) behind a
// namespace address; Attach adds any address (a private 10.x one, an IPv6
// one) routed to the namespace; DialContext dials from inside it, as a client
// of an IPv4-only or (RemoveIPv4) IPv6-only network; Sysctl sets its own
// net.* sysctls. IdleCutPath and MTUBlackholePath build the paths of an idle
// timeout (conntrack) and a path-MTU black hole.
//
// # Tokens
//
// EntraToken and RDSToken make access tokens shaped like those the managed
// services accept as passwords, and TokenSecrets lists the parts of one that
// no output may contain.
package pgtest
