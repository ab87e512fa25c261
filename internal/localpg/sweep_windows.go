package localpg

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// On Windows the temporary directory is the user's own, not shared as /tmp is, and no server program runs with
// rights the caller lacks: the sweep of leftover clusters (sweep.go) is Unix-only, and a cluster's own
// postmaster.pid names the process to stop.
var sweep = func() {}

func (s *server) postmaster(data string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return pid, err == nil && pid > 0
}

func (s *server) kill(_ context.Context, pid int) error { return killProcess(pid) }
