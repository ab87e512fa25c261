package catalog

// The codes of DESIGN.md and the finer ones added since. Codes are a contract: add, never rename.
const (
	OK                       Code = "ok"
	Unknown                  Code = "unknown"
	ConfigInvalid            Code = "config.invalid"
	ClientNoTLSSupport       Code = "client.no_tls_support"
	ClientPoolExhausted      Code = "client.pool_exhausted"
	ClientPoolTimeout        Code = "client.pool_timeout"
	DNSNotFound              Code = "dns.not_found"
	DNSFailed                Code = "dns.failed"
	DNSPrivateZoneNotLinked  Code = "dns.private_zone_not_linked"
	DNSPrivateAddress        Code = "dns.private_address"
	TCPRefused               Code = "tcp.refused"
	TCPTimeout               Code = "tcp.timeout"
	TCPUnreachable           Code = "tcp.unreachable"
	FirewallIPv6NotAllowed   Code = "firewall.ipv6_not_allowed"
	NetIPv6OnlyServer        Code = "net.ipv6_only_server"
	NetIPv4OnlyServer        Code = "net.ipv4_only_server"
	ProtocolNotPostgres      Code = "protocol.not_postgres"
	ProtocolMisbehaving      Code = "protocol.misbehaving_server"
	ServerUnresponsive       Code = "server.unresponsive"
	ConnReset                Code = "conn.reset"
	NetIdleCut               Code = "net.idle_cut"
	NetMTUBlackhole          Code = "net.mtu_blackhole"
	TLSNotSupported          Code = "tls.not_supported"
	TLSRequired              Code = "tls.required"
	TLSUntrustedCert         Code = "tls.untrusted_cert"
	TLSHostnameMismatch      Code = "tls.hostname_mismatch"
	TLSExpiredCert           Code = "tls.expired_cert"
	TLSHandshakeFailed       Code = "tls.handshake_failed"
	TLSConnectionLost        Code = "tls.connection_lost"
	TLSClientCertRequired    Code = "tls.client_cert_required"
	AuthPasswordFailed       Code = "auth.password_failed"
	AuthCleartextPassword    Code = "auth.cleartext_password"
	AuthNoPassword           Code = "auth.no_password"
	AuthMethodUnsupported    Code = "auth.method_unsupported"
	AuthPeerFailed           Code = "auth.peer_failed"
	AuthHBARejected          Code = "auth.hba_rejected"
	AuthRoleNotFound         Code = "auth.role_not_found"
	AuthLoginNotPermitted    Code = "auth.login_not_permitted"
	AuthNoConnectPrivilege   Code = "auth.no_connect_privilege"
	AuthRejected             Code = "auth.rejected"
	AuthTokenInvalid         Code = "auth.token_invalid"
	AuthTokenExpired         Code = "auth.token_expired"
	AuthTokenExpiring        Code = "auth.token_expiring"
	AuthTokenWrongAudience   Code = "auth.token_wrong_audience"
	AuthUsernameFormat       Code = "auth.username_format"
	DBNotFound               Code = "db.not_found"
	DBNotAccepting           Code = "db.not_accepting"
	LimitsTooManyConnections Code = "limits.too_many_connections"
	LimitsReservedSlots      Code = "limits.reserved_slots"
	LimitsRoleLimit          Code = "limits.role_connection_limit"
	LimitsDBLimit            Code = "limits.db_connection_limit"
	ServerStartingUp         Code = "server.starting_up"
	ServerShuttingDown       Code = "server.shutting_down"
	ServerRecovery           Code = "server.recovery"
	ServerTerminated         Code = "server.terminated"
	ServerReadOnly           Code = "server.read_only"
	ServerReadOnlyTx         Code = "server.read_only_transaction"
	ServerNotStandby         Code = "server.not_standby"
	TxSerializationFailure   Code = "tx.serialization_failure"
	TxDeadlock               Code = "tx.deadlock"
)

// causes is the catalog: one row a cause, in the order a person reads them (settings outward to the server).
// Within a row: what it is, whether it clears by itself, what to do, how the managed services differ, and how to
// recognise it. Text patterns are lower case (ASCII letters; see lowerASCII). The words of PostgreSQL's translations
// are added to the rows from translations.go.
var causes = withTranslations(append([]Cause{
	{
		Code: OK, Category: None,
		Summary: "The connection succeeded.",
	},
	{
		Code: Unknown, Category: Unrecognised,
		Summary: "The failure was not recognised.",
		steps: []string{
			"Run `pgtriage check` with the same connection string to test each layer in turn.",
			"Read the server log around the time of the failure; the server often says more than the client.",
		},
	},
	{
		Code: ConfigInvalid, Category: Configuration,
		Summary: "The connection settings are invalid, so no connection was attempted.",
		steps: []string{
			"Correct the keyword or value named in the evidence; the valid keywords and values are listed in the libpq documentation (\"Parameter Key Words\").",
			"Check where the value came from (connection string, PG* environment variable or service file): a stale PGSSLMODE or PGPORT in the environment is a common surprise.",
		},
		matchers: []matcher{
			{text: []string{"invalid sslmode value", "re:invalid [a-z_]+ value: \"", "invalid ssl protocol version range", "in ipv6 host address in uri", "could not parse network address", "invalid connection option", "invalid port number", "invalid integer value", "invalid uri query parameter", "missing \"=\" after", "unterminated quoted string in connection info string", "invalid target_session_attrs value", "invalid sslnegotiation value", "invalid channel_binding value", "definition of service", "cannot parse `", "failed to parse as url", "failed to parse as keyword/value", "invalid connection string", "connection string is invalid", "invalid connection string attribute", "invalid port in", "unknown sslmode", "unsupported sslmode", "sslmode is invalid", "invalid dsn"}},
		},
	},
	{
		Code: ClientNoTLSSupport, Category: TLS,
		Summary: "The client library was built without TLS support, so it cannot honour an sslmode that needs TLS.",
		steps: []string{
			"Install a build of the client library with OpenSSL support (on Debian and Ubuntu, the libpq5 package from the distribution or from apt.postgresql.org).",
			"Only where the network is trusted: use sslmode=disable or sslmode=prefer until the client is rebuilt.",
		},
		matchers: []matcher{
			{text: []string{"invalid when ssl support is not compiled in", "ssl is not supported by this build", "ssl support is not compiled in", "no tls implementation configured", "notlserror"}},
		},
	},
	{
		Code: ClientPoolExhausted, Category: Limits, Transient: true,
		Summary: "The application's own connection pool had no free connection within its wait time; the server was not asked.",
		steps: []string{
			"Look for connections the application holds too long: long transactions, connections not returned to the pool, requests that wait on other requests.",
			"Size the pool to the work: more connections only help while the server has spare max_connections and CPU.",
			"Raise the pool's acquire timeout only after the two steps above.",
		},
		matchers: []matcher{
			{text: []string{"connection is not available, request timed out after", "queuepool limit of size", "timeout exceeded when trying to connect", "the connection pool has been exhausted", "connection pool exhausted", "timed out waiting for connection from pool", "timed out fetching a new connection from the connection pool", "pooltimeout", "couldn't get a connection after", "timed out while waiting for an open slot in the pool"}},
		},
	},
	{
		Code: ClientPoolTimeout, Category: Timeout,
		Summary: "The application's connection pool gave up waiting for a connection, and its message hides why: with no connection open in the pool, every attempt to connect is failing.",
		steps: []string{
			"Look in the application's log just before this message for the error of the connection attempts themselves (the pool logs it once, or at debug level), and run `pgtriage explain` on it.",
			"Run `pgtriage check` with the pool's connection string to test each layer in turn.",
			"If the pool did have connections (HikariCP's total above 0), they were all busy: see the cause client.pool_exhausted.",
		},
		matchers: []matcher{
			{text: []string{"pool timed out while waiting for an open connection", "timed out while waiting for an open connection", "re:connection is not available, request timed out after \\d+ms \\(total=0,"}},
		},
	},
	{
		Code: DNSNotFound, Category: DNS,
		Summary: "The host name does not exist in DNS (NXDOMAIN).",
		steps: []string{
			"Check the spelling of {host} and the domain it belongs to.",
			"If the name is private (a VNet or VPC private endpoint, a Kubernetes service), run the check from inside that network or point the client at the DNS server that knows it.",
			"If the server was recently created, renamed or deleted, wait for DNS to catch up or use the new name.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Check the server name: the host is <server-name>.postgres.database.azure.com, and {server} must exist in the subscription (`az postgres flexible-server show --resource-group {resource_group:sh} --name {server:sh}`).",
				"A server with private access (VNet integration) resolves only through its private DNS zone: run the check from a VM in a linked VNet.",
			},
		},
		matchers: []matcher{
			{text: []string{"could not translate host name", "name or service not known", "no such host", "enotfound", "unknownhostexception", "nodename nor servname provided", "no address associated with hostname", "failed to lookup address information", "failed to resolve host", "no such host is known", "host not found", "name does not resolve", "nxdomain", "unknown host", "could not resolve host", "getaddrinfo failed", "host is unknown"}},
		},
	},
	{
		Code: DNSFailed, Category: DNS, Transient: true,
		Summary: "The DNS lookup failed without an answer (time-out or SERVFAIL); the name may well exist.",
		steps: []string{
			"Retry: resolver failures are usually brief.",
			"If it persists, check the resolvers in /etc/resolv.conf (or the container's DNS) and whether they can reach the internet or the private zone of {host}.",
		},
		matchers: []matcher{
			{text: []string{"temporary failure in name resolution", "eai_again", "server misbehaving", "servfail", "temporary failure in name", "dns lookup timed out", "lookup timed out"}},
		},
	},
	{
		Code: DNSPrivateZoneNotLinked, Category: DNS,
		Summary: "{host} is a private-endpoint name ({private_name}) but resolved to the public address {address}: this network's DNS does not use the private DNS zone {private_zone}, so the client goes to the public endpoint instead of the private one.",
		steps: []string{
			"Make this network's resolvers answer from the private DNS zone {private_zone}: link the zone to the client's network, or forward the zone to a resolver that has it.",
			"Check with `nslookup {host}` from the client: the last name of the chain must resolve to the private endpoint's address (10.x, 172.16-31.x, 192.168.x).",
			"Clients outside the private network (on premises, another cloud) need a VPN or peering and a conditional forwarder for the zone, not only a route.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Link the private DNS zone {private_zone} to the client's virtual network: `az network private-dns link vnet create --resource-group {resource_group} --zone-name {private_zone} --name <link-name> --virtual-network <client-vnet> --registration-enabled false`.",
				"From a peered network or on premises, forward postgres.database.azure.com to Azure DNS (168.63.129.16) through an Azure DNS Private Resolver inbound endpoint; a hosts-file entry is a stopgap.",
				"Check the private endpoint's DNS configuration (`az network private-endpoint dns-zone-group list --resource-group {resource_group} --endpoint-name <endpoint>`): the A record for {server} must be in {private_zone}.",
			},
			RDS: {
				"Turn on private DNS names for the interface VPC endpoint (`aws ec2 modify-vpc-endpoint --vpc-endpoint-id <vpce-id> --private-dns-enabled`) and enable DNS hostnames and DNS resolution on the client's VPC.",
				"Associate the Route 53 private hosted zone with the client's VPC; from on premises, forward the zone with a Route 53 Resolver inbound endpoint.",
			},
			CloudSQL: {
				"Create the Cloud DNS private zone for the instance's DNS name (`gcloud sql instances describe <instance> --format='value(dnsName)'`) with an A record for the Private Service Connect endpoint, and make the zone visible to the client's VPC network.",
				"From on premises, forward the zone with a Cloud DNS inbound server policy.",
			},
		},
	},
	{
		Code: DNSPrivateAddress, Category: DNS,
		Summary: "{host} resolved to the private address {address}: the server is reachable only from inside its private network (VNet, VPC, peering or VPN), and this client is not on a path to it.",
		steps: []string{
			"Run the client (or this check) from inside the server's private network, or connect that network to the client's (VPN, peering, transit gateway).",
			"If the server should be reachable publicly, give it a public endpoint; if the name should resolve differently outside (split-horizon DNS), check which DNS server this client asks.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"A flexible server with private access (VNet integration) has no public endpoint: connect from its virtual network, a peered one, or over VPN or ExpressRoute.",
				"For access from outside, create a server with public access, or add a private endpoint in a network the client reaches.",
			},
			RDS: {
				"The DB instance is not publicly accessible, so its public name resolves to its private address: connect from inside the VPC (or a peered VPC, VPN, Direct Connect), or through a bastion or SSM port forwarding.",
				"To reach it from the internet: `aws rds modify-db-instance --db-instance-identifier <instance> --publicly-accessible --apply-immediately`, in public subnets with an internet gateway, and a security group rule for {client_addr}.",
			},
			CloudSQL: {
				"A private-IP instance is reachable from its VPC network (and peered networks) only: connect from there, or through the Cloud SQL Auth Proxy with --private-ip on a host in the VPC.",
				"To reach it from outside, add a public IP to the instance and an authorized network for {client_addr}.",
			},
		},
	},
	{
		Code: TCPRefused, Category: Availability,
		Summary: "Nothing accepts connections on that address and port: the server is down or restarting, listens on another port or address, or a firewall rejects the connection.",
		steps: []string{
			"Check that PostgreSQL runs on {host} and listens on port {port}: `pg_lsclusters` or `systemctl status postgresql`, and `ss -ltnp | grep {port:sh}` on the server.",
			"Check listen_addresses in postgresql.conf: the default 'localhost' refuses connections from other machines.",
			"If the server was restarting (maintenance, failover, scaling), retry in a minute: a restart shows this error briefly.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Check the server's state (`az postgres flexible-server show --resource-group {resource_group:sh} --name {server:sh} --query state`): a stopped or restarting server refuses connections.",
				"Check Resource Health and Service Health in the Azure portal for planned maintenance or an incident.",
				"Use port 5432 (6432 for the built-in PgBouncer); other ports are refused.",
			},
		},
		matchers: []matcher{
			// Not libpq's hint "Is the server running on that host and accepting TCP/IP connections?": it follows every
			// failed connect(), unreachable networks and time-outs too.
			{text: []string{"connection refused", "econnrefused", "is the server running locally and accepting", "actively refused", "connectexception: connection refused", "could not connect to server: no such file or directory", "target machine actively refused", "check that the hostname and port are correct and that the postmaster is accepting", "connect: no such file or directory", "re:connection to server on socket \"[^\"]*\" failed: no such file or directory", "connect() failed: no such file or directory", "is the postmaster running"}},
		},
	},
	{
		Code: TCPTimeout, Category: Timeout,
		Summary: "The connection attempt got no answer before the deadline: a firewall drops the packets, or the address is wrong or unreachable.",
		steps: []string{
			"Check that the server's firewall (cloud firewall rule, security group, network security group) admits {client_addr} on port {port}.",
			"Check that {address} is the right address for {host}, and that this network can route to it (VPN, peering, private endpoint).",
			"From the client, `nc -vz {host:sh} {port:sh}` tells a dropped connection (hangs) from a refused one (fails at once).",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Add a firewall rule for {client_addr}: `{azure_allow_command}`.",
				"If the server uses private access (VNet), connect from inside the VNet or a peered network; public firewall rules do not apply.",
				"Check that outbound port 5432 is open on the client's network (corporate firewalls often block it).",
			},
			RDS: {
				"Add an inbound rule for port {port} from {client_addr} to the DB instance's VPC security group.",
				"Check that the instance is publicly accessible if you connect from outside its VPC, and that the subnet's route table has an internet gateway.",
			},
			CloudSQL: {
				"Add {client_addr} to the instance's authorized networks, or connect through the Cloud SQL Auth Proxy.",
				"For a private-IP instance, connect from the same VPC (or a peered one).",
			},
		},
		matchers: []matcher{
			{text: []string{"timeout expired", "connection timed out", "etimedout", "connect timed out", "sockettimeoutexception", "timeout while connecting", "can't reach database server", "operation timed out", "connection attempt timed out", "timeout during connect", "the operation has timed out", "re:dial tcp \\S+: i/o timeout", "re:dial tcp \\S+: connect: i/o timeout", "system.timeoutexception", "connection timeout expired"}},
		},
	},
	{
		Code: TCPUnreachable, Category: Firewall,
		Summary: "The network has no route to the server (no route to host, network unreachable): a missing route, a rejecting firewall, or an IPv6 address without an IPv6 path.",
		steps: []string{
			"If {address} is an IPv6 address and this network has no IPv6, connect to the IPv4 address, or use hostaddr to pick one.",
			"Check the routes (`ip route get {address:sh}`) and any VPN or peering that should carry traffic to {host}.",
			"A firewall that answers with ICMP host-unreachable or admin-prohibited looks like this: check the rules between client and server.",
		},
		matchers: []matcher{
			{text: []string{"no route to", "network is unreachable", "ehostunreach", "enetunreach", "noroutetohostexception", "host is unreachable", "network unreachable"}},
			// libpq tries ::1 after 127.0.0.1 for localhost; on a host without IPv6 that attempt says this, and
			// the other attempt's answer is the one that matters.
			{text: []string{"cannot assign requested address", "addrnotavailable"}, weak: true},
		},
	},
	{
		Code: NetIPv6OnlyServer, Category: Firewall,
		Summary: "{host} has only IPv6 addresses, and this client's network has no IPv6 route: an IPv6-only server seen from an IPv4-only network.",
		steps: []string{
			"Give the client IPv6 (a dual-stack VPC, subnet or container network), or reach the server through something that has an IPv4 address (a pooler or proxy, NAT64 in front).",
			"Check with `ip -6 route` on the client: without a default IPv6 route, nothing reaches {address}.",
		},
		providerSteps: map[Provider][]string{
			Supabase: {
				"Supabase's direct connection host (db.<project-ref>.supabase.co) has only an IPv6 address: connect through the connection pooler (Supavisor), which has IPv4: session mode `postgres://postgres.<project-ref>@aws-0-<region>.pooler.supabase.com:5432/postgres` (the dashboard's Connect button shows it).",
				"Or buy the project's IPv4 add-on, which gives the direct host an IPv4 address.",
				"Or run the client where IPv6 works (most hosts do; many container platforms, GitHub Actions runners and some serverless platforms do not).",
			},
		},
	},
	{
		Code: NetIPv4OnlyServer, Category: Firewall,
		Summary: "{host} has only IPv4 addresses, and this client's network has no IPv4 route: an IPv4-only server seen from an IPv6-only network.",
		steps: []string{
			"Give the client IPv4 (dual stack), or use NAT64 with DNS64 on the client's network so that IPv4-only names get IPv6 addresses.",
			"Check with `ip -4 route` on the client: without a default IPv4 route, nothing reaches {address}.",
		},
		providerSteps: map[Provider][]string{
			RDS: {
				"Switch the DB instance to dual-stack mode (`aws rds modify-db-instance --db-instance-identifier <instance> --network-type DUAL`, in subnets with IPv6 CIDRs) and allow the client's IPv6 address in the security group.",
				"Or turn on DNS64 on the client's subnet and route 64:ff9b::/96 to a NAT gateway.",
			},
			Azure: {
				"Azure Database for PostgreSQL flexible server is reached over IPv4: give the client IPv4 (dual-stack VNet), or put NAT64 in front.",
			},
		},
	},
	{
		Code: FirewallIPv6NotAllowed, Category: Firewall,
		Summary: "The server's gateway refused an IPv6 connection: it accepts IPv4 clients only.",
		steps: []string{
			"Connect over IPv4: use the server's IPv4 address in hostaddr, or make the client prefer IPv4 (for example `ip -6 route del default` is not needed: set hostaddr, or gai.conf precedence).",
			"Add a firewall rule for the client's IPv4 address.",
		},
		matchers: []matcher{
			{text: []string{"isn't configured to allow ipv6 connections", "is not configured to allow ipv6 connections"}},
		},
	},
	{
		Code: ProtocolNotPostgres, Category: Configuration,
		Summary: "Something other than PostgreSQL answers on this port.",
		steps: []string{
			"Check the port: PostgreSQL listens on 5432 by default; {host}:{port} is another service.",
			"If a proxy or load balancer sits in front of PostgreSQL, check that it forwards TCP (not HTTP) to the database.",
		},
		matchers: []matcher{
			{text: []string{"received invalid response to ssl negotiation", "expected authentication request from server, but received", "invalid length of startup packet", "received unexpected response to ssl negotiation", "invalid response to ssl negotiation", "failed to receive message: invalid body length", "not a postgresql server"}},
		},
	},
	{
		Code: ProtocolMisbehaving, Category: Configuration,
		Summary: "The server speaks PostgreSQL's protocol but sends what no PostgreSQL server sends (messages without end, a message of megabytes, a broken SCRAM exchange), so the client stopped: a faulty or hostile server, proxy or middlebox.",
		steps: []string{
			"Find out what answers on {host}:{port} (on that machine: `ss -ltnp`): a proxy, pooler or appliance in front of PostgreSQL, or a program that only pretends to be one.",
			"Connect past any proxy or load balancer, straight to the server, to see which of them misbehaves; update or fix it.",
			"Send no password to this address until it is explained: a broken SCRAM exchange or a server signature that does not verify means the peer does not hold your role's password verifier. Use sslmode=verify-full so that the server must prove who it is.",
		},
		matchers: []matcher{
			{text: []string{"the server misbehaves:", "invalid scram server-first-message", "invalid scram salt received from server", "invalid scram iteration count received from server", "scram iteration count from server too high", "invalid scram nonce", "invalid scram server-final-message", "invalid scram serversignature received from server", "expected authenticationsaslcontinue message but received", "expected authenticationsaslfinal message but received", "malformed scram message", "invalid scram response (nonce mismatch)", "incorrect server signature"}},
		},
	},
	{
		Code: ServerUnresponsive, Category: Timeout, Transient: true,
		Summary: "The TCP connection opened, but no PostgreSQL reply came before the deadline: an overloaded server or gateway, or a stuck proxy.",
		steps: []string{
			"Retry in a minute: an overloaded server or a gateway under maintenance often recovers.",
			"Check the server's CPU, memory and I/O, and whether the postmaster is stuck (the server log shows it).",
			"If a proxy (PgBouncer, pgpool, a load balancer) sits in front, check its health and its connection to the server.",
		},
		matchers: []matcher{
			{text: []string{"failed to receive message: timeout", "timeout during reading attempt", "due to connection timeout", "terminiated due to connection timeout"}},
		},
	},
	{
		Code: ConnReset, Category: Availability, Transient: true,
		Summary: "The connection was closed or reset before it was ready: the server restarted, crashed or was failed over, or something in the path cut the connection.",
		steps: []string{
			"Retry: during a restart, failover or scaling operation this clears within a minute.",
			"If it recurs, read the server log at that time (a crash, an out-of-memory kill, `could not fork new process`).",
			"Check middleboxes that cut idle or long connections (NAT gateways, load balancers) and enable TCP keepalives.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Retry: planned maintenance, scaling and HA failover on Azure Database for PostgreSQL drop connections for up to a minute or two.",
				"Check Resource Health and the server's activity log for a restart, scaling or failover at that time.",
				"Make the application retry on connection errors with backoff (see the retry package).",
			},
		},
		matchers: []matcher{
			// Not a bare "connection closed" or "connection terminated": pools and drivers say that of their own
			// connections, for reasons of every category.
			{text: []string{"server closed the connection unexpectedly", "connection reset by peer", "econnreset", "connection terminated unexpectedly", "unexpected eof", "could not receive data from server", "an i/o error occurred while sending to the backend", "broken pipe", "epipe", "connection was forcibly closed", "endofstreamexception", "attempted to read past the end of the stream", "java.io.eofexception", "could not receive data from client", "could not send data to client", "connection to client lost"}},
			// pgx's word for a connection an earlier failure closed, also after a statement whose answer was lost.
			{text: []string{"conn closed"}, weak: true},
		},
	},
	{
		Code: NetIdleCut, Category: Availability,
		Summary: "Something on the path (a load balancer, NAT gateway or firewall) forgets a connection idle for about {idle_cut}; the next query on it then {idle_cut_effect}.",
		steps: []string{
			"Turn on TCP keepalives below the cut on the client: libpq `keepalives=1 keepalives_idle={keepalives_idle} keepalives_interval={keepalives_interval} keepalives_count=3`; pgx `net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: {keepalives_idle} * time.Second, Interval: {keepalives_interval} * time.Second, Count: 3}}` as the config's DialFunc.",
			"Or on the server, for every client: `ALTER SYSTEM SET tcp_keepalives_idle = {keepalives_idle}; ALTER SYSTEM SET tcp_keepalives_interval = {keepalives_interval}; ALTER SYSTEM SET tcp_keepalives_count = 3; SELECT pg_reload_conf();`.",
			"Close pooled connections before they sit idle that long: pgxpool MaxConnIdleTime, HikariCP idleTimeout/keepaliveTime, SQLAlchemy pool_recycle, database/sql SetConnMaxIdleTime at most {pool_max_idle}.",
			"Or raise the middle box's idle timeout, where you own it (Azure Load Balancer and NAT Gateway: up to 120 min; AWS Gateway Load Balancer: up to 6000 s).",
		},
	},
	{
		Code: NetMTUBlackhole, Category: Timeout,
		Summary: "Small results arrive but a large one stalls: full-size packets are lost on the path and the ICMP \"fragmentation needed\" messages that would tell the sender to send smaller ones never arrive (a path-MTU black hole).",
		steps: []string{
			"Clamp the TCP MSS on the VPN, tunnel or router between client and server to the path MTU (Linux: `nft add rule inet filter forward tcp flags syn tcp option maxseg size set rt mtu`, or iptables TCPMSS --clamp-mss-to-pmtu).",
			"Lower the MTU of the client's tunnel or VPN interface (WireGuard 1420 or less, IPsec 1400, GRE/VXLAN 1450) so that full packets fit, or allow ICMP type 3 code 4 (IPv6: type 2, packet too big) through the firewalls on the path.",
			"On Linux clients, `sysctl -w net.ipv4.tcp_mtu_probing=1` makes TCP find a working size by itself after a black hole.",
		},
	},
	{
		Code: TLSNotSupported, Category: TLS,
		Summary: "The server does not offer TLS, but sslmode={sslmode} requires it.",
		steps: []string{
			"Enable TLS on the server (ssl = on with a certificate and key in postgresql.conf), then reload it.",
			"Only where the network is trusted: connect with sslmode=prefer or sslmode=disable.",
		},
		matchers: []matcher{
			{text: []string{"server does not support ssl", "the server does not support ssl", "ssl is not enabled on the server", "server refused tls connection", "server does not support tls"}},
		},
	},
	{
		Code: TLSRequired, Category: TLS,
		Summary: "The server admits this client only over TLS (its pg_hba.conf has hostssl lines for it), but the connection was not encrypted.",
		steps: []string{
			"Connect with sslmode=verify-full (or at least sslmode=require) instead of sslmode={sslmode}.",
			"If TLS should be optional for this client, add a `host` (not `hostssl`) line to pg_hba.conf.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Connect with sslmode=require (better: verify-full with the DigiCert Global Root G2 and Microsoft RSA Root CA 2017 certificates): Azure Database for PostgreSQL requires TLS by default (require_secure_transport=on).",
			},
		},
		matchers: []matcher{
			// Not "no pg_hba.conf entry ..., no encryption" (or "SSL off" before PostgreSQL 14): a missing line says the
			// same, so only check, which can try TLS, tells tls.required from auth.hba_rejected.
			{text: []string{"ssl connection is required", "connection requires ssl"}},
		},
	},
	{
		Code: TLSUntrustedCert, Category: TLS,
		Summary: "The server's certificate does not verify against the trusted root certificates.",
		steps: []string{
			"Get the certificate of the CA that signed the server's certificate and point sslrootcert at it (default ~/.postgresql/root.crt), or use sslrootcert=system if a public CA signed it.",
			"If the server uses a self-signed certificate, distribute that certificate as the root (sslrootcert) rather than lowering sslmode.",
		},
		providerSteps: map[Provider][]string{
			Azure:    {"Download the DigiCert Global Root G2 and Microsoft RSA Root CA 2017 certificates into one PEM file and set sslrootcert to it, or use sslrootcert=system."},
			RDS:      {"Download the RDS certificate bundle for the region (global-bundle.pem) and set sslrootcert to it."},
			CloudSQL: {"Download the instance's server CA (`gcloud sql instances describe` / `gcloud sql ssl server-ca-certs list`) and set sslrootcert to it, or use the Cloud SQL Auth Proxy."},
			Supabase: {"Download the project's CA certificate (Database settings, SSL configuration) and set sslrootcert to it."},
		},
		matchers: []matcher{
			{text: []string{"certificate verify failed", "self-signed certificate", "self signed certificate", "unable to get local issuer certificate", "certificate signed by unknown authority", "pkix path building failed", "unable to verify the first certificate", "root certificate file", "the remote certificate is invalid according to the validation procedure", "untrustedroot", "unable_to_verify_leaf_signature", "self_signed_cert_in_chain", "invalidcertificate", "unknownissuer", "pkix path validation failed", "does not chain with any of the trust anchors", "self signed certificate in certificate chain", "certificate signature failure", "ecdsa verification failure"}},
		},
	},
	{
		Code: TLSHostnameMismatch, Category: TLS,
		Summary: "The server's certificate does not name the host the client connected to.",
		steps: []string{
			"Connect with a host name the certificate covers ({cert_names}) instead of {host}.",
			"Or reissue the server certificate with {host} in its subject alternative names.",
		},
		matchers: []matcher{
			{text: []string{"does not match host name", "certificate is valid for", "cannot validate certificate for", "err_tls_cert_altname_invalid", "hostname mismatch", "remotecertificatenamemismatch", "no alternative certificate subject name matches", "does not match certificate's altnames", "cn name does not match the passed value", "server name validation failed", "could not be verified by hostnameverifier"}},
		},
	},
	{
		Code: TLSExpiredCert, Category: TLS,
		Summary: "The server's certificate is outside its validity period (expired, or not yet valid).",
		steps: []string{
			"Renew the server certificate (it is valid until {cert_not_after}) and reload the server (`SELECT pg_reload_conf()`).",
			"If the certificate is not yet valid, check the clocks of client and server.",
		},
		matchers: []matcher{
			{text: []string{"certificate has expired", "certificate expired", "certificateexpiredexception", "certificate is not yet valid", "cert_has_expired", "certificate has expired or is not yet valid", "notyetvalid"}},
		},
	},
	{
		Code: TLSHandshakeFailed, Category: TLS,
		Summary: "The TLS handshake failed: client and server share no protocol version or cipher, or one side sent an alert.",
		steps: []string{
			"Compare ssl_min_protocol_version on the server with what the client supports (TLS 1.2 or later is usual).",
			"Read the server log: it names the TLS error it saw.",
		},
		matchers: []matcher{
			{text: []string{"handshake failure", "tlsv1 alert", "sslv3 alert", "no shared cipher", "unsupported protocol", "unsupported_protocol", "wrong version number", "tls handshake", "ssl handshake", "no protocols available", "could not accept ssl connection", "re:ssl_error_[a-z_]+_alert", "ssl routines:", "handshakefailure"}},
		},
	},
	{
		Code: TLSConnectionLost, Category: Availability, Transient: true,
		Summary: "The TLS session was torn down in mid-stream: the server ended, restarted or was failed over, or a middlebox cut the connection.",
		steps: []string{
			"Retry: this follows restarts, failovers and idle-connection cuts and clears by itself.",
			"If it recurs, read the server log at that time and enable TCP keepalives against idle cuts.",
		},
		matchers: []matcher{
			// "EOF detected" or a time-out under TLS: the session was torn down, whatever caused it.
			{text: []string{"ssl syscall error: eof detected", "ssl syscall error: operation timed out", "ssl syscall error: connection timed out", "ssl syscall error", "ssl connection has been closed unexpectedly", "decryption failed or bad record mac", "ssl error: unexpected eof", "unexpected eof while reading"}},
		},
	},
	{
		Code: TLSClientCertRequired, Category: TLS,
		Summary: "The server requires a client certificate and none (or an invalid one) was presented.",
		steps: []string{
			"Set sslcert and sslkey to a certificate signed by the CA in the server's ssl_ca_file (default ~/.postgresql/postgresql.crt and .key).",
			"For clientcert=verify-full the certificate's CN must be the role name {user}.",
		},
		matchers: []matcher{
			{sqlstate: "28000", text: []string{"connection requires a valid client certificate", "certificate authentication failed"}},
			{text: []string{"connection requires a valid client certificate", "certificate authentication failed"}},
		},
	},
	{
		// A finding of a check, not a failure: the connection may well have succeeded.
		Code: AuthCleartextPassword, Category: Login,
		Summary: "The server asked for the password in clear text (pg_hba.conf method password) on a connection without TLS, and got it: anyone on the network path can read it, and anything that poses as {host} can ask for it the same way.",
		steps: []string{
			"Make the client refuse to send it: with libpq 16 or later (and pgx) add require_auth=scram-sha-256 to the connection string (or require_auth=!password to refuse only clear text); the connection then ends before any password is sent to a server that asks for it in clear text.",
			"Use TLS with sslmode=verify-full, so that the password travels encrypted and only the real server gets it: the server needs ssl=on and a certificate for {host}.",
			"On the server, change the pg_hba.conf method from password to scram-sha-256 (with password_encryption=scram-sha-256 and the role's password set again): SCRAM never sends the password itself.",
		},
	},
	{
		Code: AuthPasswordFailed, Category: Login,
		Summary: "The server rejected the password for role {user}. With SCRAM the server says the same for a role that does not exist, so check the role name too.",
		steps: []string{
			"Check the password for {user} (it was taken from: {looked_in}); reset it if needed with `ALTER ROLE {user:ident} PASSWORD '...'` as an administrator.",
			"Check that the role {user} exists on this server: SCRAM hides a missing role behind the same message.",
			"If the password was changed recently, update every place the application reads it from (secrets, .pgpass, PGPASSWORD).",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Check the password for {user}; reset the administrator password with `az postgres flexible-server update --resource-group {resource_group:sh} --name {server:sh} --admin-password ...`.",
				"On flexible server, log in as plain {user} (the user@server form was for single server).",
				"For Microsoft Entra ID users the password is an access token: get a fresh one with `az account get-access-token --resource-type oss-rdbms`.",
			},
			RDS: {
				"Check the password for {user}; reset the master password with `aws rds modify-db-instance --master-user-password`.",
				"With IAM authentication the password is a token that lasts 15 minutes: generate a fresh one with `aws rds generate-db-auth-token`.",
			},
			Supabase: {
				"Check the database password (Project settings, Database) and, through the pooler, use the user name postgres.<project-ref>.",
			},
			Neon: {
				"Check the role's password in the Neon console; the endpoint ID must be known to the server (use a client with SNI support, or options=endpoint%3D<endpoint-id>).",
			},
		},
		matchers: []matcher{
			{sqlstate: "28P01"},
			// Not "authentication failed for user" alone: peer, ident, LDAP and the others say it too.
			{text: []string{"password authentication failed", "invalid password", "password is incorrect", "wrong password", "sasl authentication failed", "password doesn't match", "password does not match", "authentication failed against database server", "re:the password that was provided for the role \\S+ is wrong"}},
		},
	},
	{
		Code: AuthNoPassword, Category: Login,
		Summary: "The server asked for a password ({method}) and the client had none.",
		steps: []string{
			"Give a password: in the connection string, in PGPASSWORD, or in a line of {passfile} (`hostname:port:database:username:password`, mode 0600).",
			"Looked in: {looked_in}.",
		},
		matchers: []matcher{
			{text: []string{"no password supplied", "but no password was provided", "client password must be a string", "no password has been provided", "password is required", "no password was provided", "password missing", "fe_sendauth"}},
		},
	},
	{
		Code: AuthMethodUnsupported, Category: Login,
		Summary: "The server asked for an authentication method the client cannot do (for example SCRAM-SHA-256 with a client older than libpq 10).",
		steps: []string{
			"Upgrade the client library or driver to a version that supports the server's method (SCRAM-SHA-256 needs libpq 10, PgJDBC 42.2, Npgsql 4, node-postgres 7.5).",
			"Or, as an administrator, change the method in pg_hba.conf for this client (and re-set the password if password_encryption changes).",
		},
		matchers: []matcher{
			{text: []string{"authentication method 10 not supported", "scram authentication requires libpq version 10", "the authentication type 10 is not supported", "authentication method not supported", "unsupported authentication method", "authentication method requirement", "unknown authentication method", "authentication type 10 is not supported", "sasl authentication is not supported", "authentication method 12 not supported"}},
		},
	},
	{
		Code: AuthPeerFailed, Category: Login,
		Summary: "Peer or ident authentication failed: the operating-system user of the client is not the role {user}.",
		steps: []string{
			"Run the client as the operating-system user of the same name (for example `sudo -u postgres psql`), or map it in pg_ident.conf.",
			"Or connect over TCP (host=localhost), where pg_hba.conf usually asks for a password instead.",
		},
		matchers: []matcher{
			{sqlstate: "28000", text: []string{"peer authentication failed", "ident authentication failed"}},
			{text: []string{"peer authentication failed for user", "ident authentication failed for user"}},
		},
	},
	{
		Code: AuthHBARejected, Category: Firewall,
		Summary: "The server's access rules (pg_hba.conf) have no line that admits this client address, role and database. On managed services this is the server firewall.",
		steps: []string{
			"Add a line to pg_hba.conf for this client, for example `hostssl {database:hba} {user:hba} {client_addr:cidr} scram-sha-256`, then reload the server (`SELECT pg_reload_conf()`).",
			"Check that the client address the server saw ({client_addr}) is the one you expect: NAT, proxies and VPNs change it.",
			"If the message ends in \"no encryption\" (\"SSL off\" before PostgreSQL 14) and the server admits this client over TLS only (hostssl lines, rds.force_ssl, require_secure_transport), connect with sslmode=verify-full; `pgtriage check` tells the two apart.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Add a firewall rule for {client_addr}: `{azure_allow_command}`.",
				"The server saw the client as {client_addr}: if that is a NAT or proxy address, allow that one.",
				"Check with `pgtriage firewall --rules rules.json --ip {client_addr:sh}` against `az postgres flexible-server firewall-rule list --resource-group {resource_group:sh} --name {server:sh}`.",
			},
			RDS: {
				"Check the DB parameter group (rds.force_ssl) and connect with sslmode=require or better.",
				"Check that the role has the rds_iam grant only if you use IAM tokens.",
			},
			Supabase: {
				"Check Network Restrictions in the project's database settings: add {client_addr}.",
			},
		},
		matchers: []matcher{
			{sqlstate: "28000", text: []string{"no pg_hba.conf entry", "pg_hba.conf rejects connection"}},
			{text: []string{"no pg_hba.conf entry", "pg_hba.conf rejects connection"}},
		},
	},
	{
		Code: AuthRoleNotFound, Category: Login,
		Summary: "The role {user} does not exist on this server.",
		steps: []string{
			"Check the user name; list roles with `\\du` in psql as an administrator.",
			"Create the role if it should exist: `CREATE ROLE {user:ident} LOGIN PASSWORD '...'`.",
			"If no user was given, libpq uses the operating-system user name: set user= (or PGUSER).",
		},
		matchers: []matcher{
			{sqlstate: "28000", text: []string{"re:role \".*\" does not exist"}},
			// The server's DETAIL under a password failure names the missing role: the more specific answer.
			{text: []string{"re:detail:\\s+role \".*\" does not exist"}},
			{text: []string{"re:role \".*\" does not exist", "re:role «.*» does not exist", "re:user \".*\" does not exist"}, fatal: true},
		},
	},
	{
		Code: AuthLoginNotPermitted, Category: Login,
		Summary: "The role {user} exists but may not log in (NOLOGIN).",
		steps: []string{
			"Grant login as an administrator: `ALTER ROLE {user:ident} LOGIN`.",
			"Or connect as a login role that is a member of {user} and `SET ROLE {user:ident}` after connecting.",
		},
		matchers: []matcher{
			{sqlstate: "28000", text: []string{"is not permitted to log in"}},
			{text: []string{"is not permitted to log in"}},
		},
	},
	{
		Code: AuthNoConnectPrivilege, Category: Login,
		Summary: "The role {user} lacks the CONNECT privilege on database {database}.",
		steps: []string{
			"Grant it as the database owner: `GRANT CONNECT ON DATABASE {database:ident} TO {user:ident}`.",
		},
		matchers: []matcher{
			{sqlstate: "42501", text: []string{"permission denied for database"}},
			{text: []string{"permission denied for database"}, fatal: true},
		},
	},
	{
		Code: AuthRejected, Category: Login,
		Summary: "The server rejected the login (SQLSTATE 28000); the server's message says why.",
		steps: []string{
			"Read the server's message and the server log: the authentication method in pg_hba.conf (ldap, radius, gss, cert) says what failed.",
		},
		matchers: []matcher{
			{sqlstate: "28000"},
			{text: []string{"ldap authentication failed", "radius authentication failed", "pam authentication failed", "bsd authentication failed", "gssapi authentication failed", "sspi authentication failed"}},
		},
	},
	{
		Code: AuthTokenInvalid, Category: Login,
		Summary: "The server rejected the access token given as the password (Microsoft Entra ID, formerly Azure AD): it is malformed, expired, or for another resource.",
		steps: []string{
			"Get a fresh token for the database resource and pass it exactly as returned, as the password: `az account get-access-token --resource-type oss-rdbms --query accessToken --output tsv`.",
			"Tokens last about an hour: a pool must fetch a new one for each new connection, not reuse the first.",
			"Check that {user} is the Entra ID user or group name that was added to the server as an administrator or role.",
		},
		matchers: []matcher{
			{text: []string{"access token has invalid format", "access token has expired", "access token is invalid"}},
		},
	},
	{
		Code: AuthTokenExpired, Category: Login,
		Summary: "The password is an access token that has expired, so the server refuses it (it says only that password authentication failed).",
		steps: []string{
			"Get a fresh token just before connecting, and have the application's pool fetch one for each new connection instead of reusing the first.",
			"Check the client's clock (`timedatectl`): a clock that runs behind or ahead makes valid tokens look expired and the other way round.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Get a fresh Entra ID token for the database: `az account get-access-token --resource-type oss-rdbms --query accessToken --output tsv`; it lasts about an hour.",
				"In the application, fetch the token in the pool's connection hook (pgx BeforeConnect, a password callback) with the Azure Identity library, which renews it before it expires.",
			},
			RDS: {
				"Generate a new token just before connecting: `aws rds generate-db-auth-token --hostname {host} --port {port} --username {user}`; a token is valid for 15 minutes and only for new connections.",
				"In the application, generate the token in the pool's connection hook (pgx BeforeConnect, the AWS SDK's rds/auth BuildAuthToken) rather than once at start-up.",
			},
			CloudSQL: {
				"Get a fresh token: `gcloud sql generate-login-token` (or `gcloud auth print-access-token`); it lasts one hour.",
				"Prefer the Cloud SQL Auth Proxy or a Cloud SQL connector with --auto-iam-authn: they renew the token themselves.",
			},
		},
	},
	{
		Code: AuthTokenExpiring, Category: Login,
		Summary: "The password is an access token that expires within minutes: connections opened after that with the same token will be refused.",
		steps: []string{
			"Fetch a new token for each new connection (the pool's connection hook) instead of keeping one in the connection string.",
			"Sessions already open stay open after the token expires; only new logins fail, often long after the start, when the pool grows or reconnects.",
		},
	},
	{
		Code: AuthTokenWrongAudience, Category: Login,
		Summary: "The password is an access token made for something else: another resource (Entra ID audience), or another host, port or user (RDS IAM), so the server refuses it.",
		steps: []string{
			"Make the token for this server and user, and connect with the same host name, port and user the token was made for.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Get the token for Azure Database for PostgreSQL, not for Azure Resource Manager: `az account get-access-token --resource-type oss-rdbms` (audience https://ossrdbms-aad.database.windows.net).",
				"In code, ask for the scope https://ossrdbms-aad.database.windows.net/.default.",
			},
			RDS: {
				"Generate the token for the exact endpoint and port you connect to (`aws rds generate-db-auth-token --hostname {host} --port {port} --username {user}`): a CNAME, an RDS Proxy or a custom endpoint name needs its own token, and DBUser must be the role you log in as.",
			},
		},
	},
	{
		Code: AuthUsernameFormat, Category: Login,
		Summary: "The server's gateway wants the user name in another form: Azure Database for PostgreSQL single server takes user@servername.",
		steps: []string{
			"On single server, log in as {user}@{server} (for example `psql \"host={host} user={user}@{server} dbname=postgres sslmode=require\"`).",
			"On flexible server the plain role name is right: check that the host name is that of the server you mean.",
		},
		matchers: []matcher{
			{text: []string{"invalid username specified", "should be in <username@hostname> format", "should be in username@hostname format"}},
		},
	},
	{
		Code: DBNotFound, Category: Configuration,
		Summary: "The database {database} does not exist on this server.",
		steps: []string{
			"Check the database name; list them with `psql -l`.",
			"If no database was given, libpq uses the user name as the database name: set dbname= (or PGDATABASE).",
			"Create it if it should exist: `CREATE DATABASE {database:ident}`.",
		},
		matchers: []matcher{
			{sqlstate: "3D000", fatal: true},
			{text: []string{"re:database \".*\" does not exist", "database does not exist"}, fatal: true},
		},
	},
	{
		Code: DBNotAccepting, Category: Availability,
		Summary: "The database {database} does not accept connections (ALLOW_CONNECTIONS false), for example a template or a database being dropped or restored.",
		steps: []string{
			"Connect to another database, or as its owner allow connections again: `ALTER DATABASE {database:ident} ALLOW_CONNECTIONS true`.",
		},
		matchers: []matcher{
			{sqlstate: "55000", text: []string{"is not currently accepting connections"}},
			{text: []string{"is not currently accepting connections"}},
		},
	},
	{
		Code: LimitsTooManyConnections, Category: Limits, Transient: true,
		Summary: "The server has no connection slot left: every one of its max_connections is in use.",
		steps: []string{
			"Retry with backoff: a burst of connections usually passes.",
			"Find who holds the connections: `SELECT usename, application_name, client_addr, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3,4 ORDER BY 5 DESC`.",
			"Use a connection pooler (PgBouncer) or smaller application pools rather than raising max_connections.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Retry with backoff: a burst of connections usually passes.",
				"max_connections depends on the compute size; use the built-in PgBouncer (port 6432) or scale the compute.",
				"Find who holds the connections: `SELECT usename, application_name, client_addr, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3,4 ORDER BY 5 DESC`.",
			},
		},
		matchers: []matcher{
			{sqlstate: "53300", text: []string{"too many clients already", "too many connections"}},
			{sqlstate: "53300"},
			{text: []string{"sorry, too many clients already", "too many clients already"}},
		},
	},
	{
		Code: LimitsReservedSlots, Category: Limits, Transient: true,
		Summary: "Only the connection slots reserved for superusers (or pg_use_reserved_connections) are left, and {user} may not use them.",
		steps: []string{
			"Retry with backoff: the ordinary slots free up when other clients disconnect.",
			"Find who holds the connections: `SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 DESC`.",
			"Use a pooler, or make the application's pools smaller, so that ordinary roles stay below max_connections minus the reserved slots.",
		},
		providerSteps: map[Provider][]string{
			Azure: {
				"Retry with backoff: the ordinary slots free up when other clients disconnect.",
				"Azure Database for PostgreSQL reserves connections for the service and for azure_pg_admin; the usable count is max_connections minus those. Use the built-in PgBouncer (port 6432) or scale the compute.",
			},
		},
		matchers: []matcher{
			{sqlstate: "53300", text: []string{"remaining connection slots are reserved"}},
			{text: []string{"remaining connection slots are reserved"}},
		},
	},
	{
		Code: LimitsRoleLimit, Category: Limits,
		Summary: "The role {user} has reached its own connection limit (ALTER ROLE ... CONNECTION LIMIT).",
		steps: []string{
			"Find this role's sessions: `SELECT application_name, client_addr, state, count(*) FROM pg_stat_activity WHERE usename = {user:literal} GROUP BY 1,2,3`.",
			"Raise the limit if it is too low: `ALTER ROLE {user:ident} CONNECTION LIMIT <n>`, or make the application's pool smaller.",
		},
		matchers: []matcher{
			{sqlstate: "53300", text: []string{"too many connections for role"}},
			{text: []string{"too many connections for role"}},
		},
	},
	{
		Code: LimitsDBLimit, Category: Limits,
		Summary: "The database {database} has reached its connection limit (ALTER DATABASE ... CONNECTION LIMIT).",
		steps: []string{
			"Find the database's sessions: `SELECT usename, application_name, state, count(*) FROM pg_stat_activity WHERE datname = {database:literal} GROUP BY 1,2,3`.",
			"Raise the limit if it is too low: `ALTER DATABASE {database:ident} CONNECTION LIMIT <n>`, or make the application's pools smaller.",
		},
		matchers: []matcher{
			{sqlstate: "53300", text: []string{"too many connections for database"}},
			{text: []string{"too many connections for database"}},
		},
	},
	{
		Code: ServerStartingUp, Category: Availability, Transient: true,
		Summary: "The server is starting up (or a standby has not reached a consistent state) and does not accept connections yet.",
		steps: []string{
			"Retry in a few seconds: start-up after a restart, maintenance or scaling usually takes under a minute.",
			"If it lasts, read the server log: crash recovery replaying a lot of WAL can take longer.",
		},
		matchers: []matcher{
			{sqlstate: "57P03", text: []string{"is starting up", "not yet accepting connections", "consistent recovery state has not been yet reached"}},
			{text: []string{"the database system is starting up", "not yet accepting connections"}},
		},
	},
	{
		Code: ServerShuttingDown, Category: Availability, Transient: true,
		Summary: "The server is shutting down (maintenance, restart, scaling or failover) and refuses new connections.",
		steps: []string{
			"Retry with backoff: after a restart, failover or scaling the server (or its replacement) accepts connections again, usually within a minute.",
			"If nobody planned a shutdown, ask the server's administrator or check the provider's maintenance notices.",
		},
		matchers: []matcher{
			{sqlstate: "57P03", text: []string{"is shutting down"}},
			{text: []string{"the database system is shutting down"}},
		},
	},
	{
		Code: ServerRecovery, Category: Availability, Transient: true,
		Summary: "The server is in recovery (crash recovery, or a standby with hot standby off) and does not accept connections.",
		steps: []string{
			"Retry: crash recovery ends by itself; a failover promotes another server.",
			"If this is a standby and should accept read-only connections, set hot_standby = on.",
		},
		matchers: []matcher{
			{sqlstate: "57P03", text: []string{"in recovery mode", "hot standby mode is disabled", "not accepting connections"}},
			{sqlstate: "57P03"},
			{text: []string{"the database system is in recovery mode", "hot standby mode is disabled"}},
		},
	},
	{
		Code: ServerTerminated, Category: Availability, Transient: true,
		Summary: "The server ended the session: an administrator command, a crash of another server process, a shutdown, or an idle timeout.",
		steps: []string{
			"Reconnect and retry the transaction: the server is usually back at once (after a crash, within seconds).",
			"If it recurs, read the server log: `terminating connection because of crash of another server process` means a backend crashed; idle timeouts name themselves.",
		},
		matchers: []matcher{
			{sqlstate: "57P01"},
			{sqlstate: "57P02"},
			{sqlstate: "57P05"},
			{sqlstate: "25P03"},
			{text: []string{"terminating connection due to administrator command", "terminating connection because of crash of another server process", "terminating connection due to idle-session timeout", "terminating connection due to idle-in-transaction timeout", "terminating connection due to unexpected postmaster exit", "terminating connection due to transaction timeout", "terminating connection due to conflict with recovery"}},
		},
	},
	{
		Code: ServerReadOnly, Category: Availability, Transient: true,
		Summary: "The server is read-only (a standby, or an old primary after a failover) but the connection asked for a read-write server.",
		steps: []string{
			"List every member of the cluster in host= and keep target_session_attrs=read-write, so that the client finds the new primary.",
			"If DNS points at the old primary, wait for it to follow the failover (keep DNS TTLs short) and retry.",
		},
		matchers: []matcher{
			{text: []string{"session is read-only", "read only connection", "server is in hot standby mode", "server is in standby mode", "could not make a writable connection"}},
		},
	},
	{
		Code: ServerNotStandby, Category: Availability, Transient: true,
		Summary: "The connection asked for a standby (target_session_attrs={tsa}) but reached a primary.",
		steps: []string{
			"List the standbys in host= (libpq tries the hosts in order), or use target_session_attrs=prefer-standby to fall back to the primary.",
			"After a failover the roles swap: check which member is the standby now.",
		},
		matchers: []matcher{
			{text: []string{"server is not in hot standby mode", "connection is not read only", "session is not read-only", "could not make a readonly connection"}},
		},
	},
	{
		Code: ServerReadOnlyTx, Category: Availability, Transient: true,
		Summary: "A write reached a server in read-only mode: typically a standby, or the old primary after a failover, while the application still connects to it.",
		steps: []string{
			"Reconnect to the current primary: set target_session_attrs=read-write and list every cluster member in host=, or use the provider's primary endpoint.",
			"Make the application drop pooled connections on this error, so that new ones find the new primary.",
		},
		matchers: []matcher{
			{sqlstate: "25006"},
			{text: []string{"in a read-only transaction"}},
		},
	},
	// Not connection failures: the connection is fine and the server rolled the transaction back. They are transient
	// because rerunning the whole transaction is the documented answer (PostgreSQL manual, "Serialization Failure
	// Handling"); a single statement of the transaction cannot be retried alone.
	{
		Code: TxSerializationFailure, Category: Transaction, Transient: true,
		Summary: "The server rolled the transaction back because it conflicted with a concurrent one (repeatable read or serializable isolation).",
		steps: []string{
			"Run the whole transaction again from its start, reading afresh: the conflict usually does not recur.",
			"If it recurs often, keep transactions short and touch rows in a consistent order.",
		},
		matchers: []matcher{
			{sqlstate: "40001"},
			{text: []string{"could not serialize access due to"}},
		},
	},
	{
		Code: TxDeadlock, Category: Transaction, Transient: true,
		Summary: "The server found a deadlock between this transaction and another and rolled this one back.",
		steps: []string{
			"Run the whole transaction again from its start.",
			"Take locks in the same order in every transaction (for example update rows in key order) so that the deadlock cannot recur; the server log names the two processes and the statements.",
		},
		matchers: []matcher{
			{sqlstate: "40P01"},
			{text: []string{"deadlock detected"}},
		},
	},
}, poolerCauses...))
