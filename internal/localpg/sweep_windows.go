package localpg

import "context"

// On Windows the temporary directory is the user's own, not shared as /tmp is, and no server program runs with
// rights the caller lacks: the sweep of leftover clusters (sweep.go) is Unix-only, and a cluster's own
// postmaster.pid names the process to stop.
var sweep = func() {}

func (s *server) postmaster(data string) (int, bool) { return pidFileSays(data) }

func (s *server) kill(_ context.Context, pid int) error { return killProcess(pid) }
