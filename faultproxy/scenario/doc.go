// Package scenario plays timelines of faults on a faultproxy.Proxy and reports what each client of the proxy
// experienced: `pgtriage rehearse` as a library.
//
// A Scenario is a list of steps, each putting faults in force at an offset from the start and taking them away
// (with `for:` or a later `remove:`), so that a scenario always ends with the proxy as it found it. Scenarios are
// YAML files (see Parse for the format) or built in (Builtins, Builtin: failover, maintenance, connection-storm,
// ...); one built in Go is checked with Validate.
//
// # Rehearsing
//
// Rehearse starts a proxy, waits for the application, plays the scenario, keeps watching while the clients come
// back, and returns a Rehearsal: for each client (its application_name), its sessions, failed attempts, errors by
// SQLSTATE, each disruption and how long after the faults were lifted it was back. A test rehearses in one call,
// starting its clients in Ready and waiting for them in Settle instead of for fixed times:
//
//	s, _ := scenario.Builtin("failover")
//	r, err := scenario.Rehearse(ctx, s, scenario.RehearseOptions{
//		Proxy: faultproxy.Config{Listen: "127.0.0.1:0", Upstream: "127.0.0.1:5432"},
//		Speed: 5, // the 10 s failover in 2 s
//		Ready: func(ctx context.Context, p *faultproxy.Proxy) error {
//			// start the application against p.Addr(), wait for its first query
//		},
//		Cooldown: 5 * time.Second,
//	})
//	for _, c := range r.Clients {
//		if !c.Back { ... }
//	}
//
// To play a scenario on a proxy of one's own, use Scenario.Run, and pass a Recorder's Record as the proxy's
// OnEvent to keep its events.
package scenario
