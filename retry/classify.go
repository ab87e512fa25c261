package retry

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgtriage/pgtriage/catalog"
)

// Classification is what the retry helpers make of an error.
type Classification struct {
	// Cause is the catalog's cause (catalog.ClassifyError): the same answer pgtriage check and explain give.
	Cause catalog.Cause
	// Retry says a new attempt of the whole unit of work may succeed: the cause is transient (a restart, a
	// failover, a burst of connections, a serialization failure or deadlock), or the server refused the connection,
	// which a restart shows for a moment (tcp.refused is persistent in the catalog because a server that stays
	// down needs someone; the policy's caps end the retries then). Never for the context's own end, and never for
	// an error that already went through a retry policy (a *GaveUpError, ErrCommitUnknown), so that layers of
	// retries do not multiply attempts.
	Retry bool
	// NotApplied says the operation certainly did not take effect: the connection could not be made (so nothing
	// was sent), or the server answered with an ERROR and kept the session, which rolls back a statement in its own
	// transaction. Two signals are not trusted, because they say "nothing was sent" when something was:
	// pgconn.SafeToRetry (pgx v5.12 reports "conn closed", safe to retry, when the answer to a statement it sent
	// was lost: MultiResultReader.NextResult drops the read error and the next read finds the connection closed;
	// TestPgxSafeToRetryAfterALostAnswer shows it) and driver.ErrBadConn (lib/pq says it for an EOF or a FATAL
	// error after the statement went out, and pgx's stdlib driver turns the SafeToRetry above into it).
	NotApplied bool
}

// Classify says what err means for a retry. It understands errors of pgx, pgconn, pgxpool, database/sql with pgx's
// stdlib driver or lib/pq, the net package and crypto/tls, through the catalog.
func Classify(err error) Classification {
	if err == nil {
		return Classification{Cause: catalog.Lookup(catalog.OK)}
	}
	v := Classification{Cause: catalog.ClassifyError(err), NotApplied: notApplied(err)}
	var gaveUp *GaveUpError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case errors.As(err, &gaveUp), errors.Is(err, ErrCommitUnknown):
	default:
		v.Retry = v.Cause.Transient || v.Cause.Code == catalog.TCPRefused
	}
	return v
}

// IsTransient reports whether the catalog calls err's cause transient: it usually clears by itself within a
// minute, so retrying is right. The context's cancellation or deadline is never transient: the caller decided.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return catalog.ClassifyError(err).Transient
}

func notApplied(err error) bool {
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr) || serverRefused(err)
}

// serverRefused reports whether err is the server's ERROR (not FATAL or PANIC): the statement failed and the
// session lives on.
func serverRefused(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		s := pgErr.SeverityUnlocalized
		if s == "" {
			s = pgErr.Severity
		}
		return s == "ERROR"
	}
	// lib/pq's *pq.Error.
	var fatal interface{ Fatal() bool }
	if errors.As(err, &fatal) {
		return !fatal.Fatal()
	}
	return false
}
