package main

import (
	"net"

	"github.com/spf13/cobra"
)

// deps are what tests swap in: a resolver that asks the test's own DNS server.
type deps struct {
	resolver *net.Resolver
}

// commands lists the subcommands; each lives in its own file.
func commands(d deps) []*cobra.Command {
	return []*cobra.Command{
		newCheckCmd(d),
		newIdleCutCmd(),
		newFirewallCmd(),
		newExplainCmd(),
		newCodesCmd(),
		newWatchCmd(d),
		newReportCmd(),
		newRehearseCmd(),
		newDemoCmd(),
		newProxyCmd(),
		newVersionCmd(),
	}
}
