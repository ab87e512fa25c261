package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/catalog"
)

// largeQuery asks for a result of 64 KB: some 45 full-size packets, which a path-MTU black hole loses while the
// small results of the stages before pass. It reads nothing and costs the server next to nothing.
const (
	largeQuery = "SELECT repeat('x', 65536)"
	largeSize  = 65536
)

// pathMTU fetches a large result after the server stage, with a deadline of its own: when it stalls where the
// small results passed, full-size packets are lost on the path (net.mtu_blackhole).
func (a *attempt) pathMTU(ctx context.Context, p *prober, pg *pgconn.PgConn) {
	if a.d.network != "tcp" {
		return // a unix-domain socket has no path MTU
	}
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	res, err := pg.Exec(qctx, largeQuery).ReadAll()
	switch {
	case err == nil && len(res) == 1 && len(res[0].Rows) == 1 && len(res[0].Rows[0][0]) == largeSize:
		a.stage(StageMTU, StageOK, start, "a 64 KB result arrived whole")
	case err != nil && (isTimeout(err) || qctx.Err() != nil):
		a.failAt(start, &failure{stage: StageMTU, code: catalog.NetMTUBlackhole, answered: true, evidence: fmt.Sprintf(
			"the small results of the login and the server stage arrived, but a 64 KB result (%s) did not within %s", largeQuery, p.timeout)})
	default:
		a.stage(StageMTU, StageWarn, start, fmt.Sprintf("a 64 KB result could not be fetched: %v", err))
	}
}
