package faultproxy

import (
	"slices"
	"strings"

	"github.com/pgtriage/pgtriage/catalog"
)

// startupErrors are the causes KindError can send (filled in below).
var startupErrors = map[catalog.Code]struct{}{
	catalog.LimitsTooManyConnections: {},
	catalog.LimitsReservedSlots:      {},
	catalog.ServerStartingUp:         {},
	catalog.ServerShuttingDown:       {},
	catalog.ServerRecovery:           {},
	catalog.AuthPasswordFailed:       {},
	catalog.AuthHBARejected:          {},
	catalog.AuthRoleNotFound:         {},
	catalog.DBNotFound:               {},
}

func startupCauses() string {
	var s []string
	for c := range startupErrors {
		s = append(s, string(c))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
