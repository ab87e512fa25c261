package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
)

// Do runs fn until it succeeds, fails with an error that a retry cannot clear (see Classify), or the policy or
// the context gives up. fn must be safe to run more than once: a read, a whole transaction, an idempotent write.
// For a single statement that writes, use DoAtMostOnce; for transactions, Tx and SQLTx.
//
// Do allocates nothing when fn succeeds at once (fn's own closure aside). An error fn returns that is not worth
// retrying comes back as it is; when the retries run out, a *GaveUpError wraps the last one.
func Do(ctx context.Context, p *Policy, fn func(context.Context) error) error {
	return p.run(ctx, func(ctx context.Context) (bool, error) {
		if err := fn(ctx); err != nil {
			return Classify(err).Retry, err
		}
		return false, nil
	})
}

// DoAtMostOnce is Do for a statement that must not take effect twice (an INSERT without a unique key, say, in its
// own implicit transaction). It retries only where the error proves the statement did not take effect (see
// Classification.NotApplied): the connection could not be made, or the server refused the statement with an ERROR and
// kept the connection. When the connection broke after the statement was sent, the outcome is unknown:
// it returns an error wrapping ErrCommitUnknown instead of running the statement again.
//
// With database/sql, fn's ExecContext may already have run the statement twice: database/sql runs it again on
// another connection when the driver says driver.ErrBadConn, and both pgx's stdlib driver (v5.12) and lib/pq say
// so after some lost answers (TestDatabaseSQLRunsAStatementAgain). Writes through database/sql belong in
// SQLTxKey, since database/sql never re-runs a statement inside a transaction.
func DoAtMostOnce(ctx context.Context, p *Policy, fn func(context.Context) error) error {
	return p.run(ctx, func(ctx context.Context) (bool, error) {
		err := fn(ctx)
		if err == nil {
			return false, nil
		}
		v := Classify(err)
		if v.Retry && !v.NotApplied {
			return false, fmt.Errorf("%w: %w", ErrCommitUnknown, err)
		}
		return v.Retry, err
	})
}

// ErrCommitUnknown says that the connection broke while a COMMIT (or a statement in its own implicit transaction)
// was on its way, so whether it took effect is unknown; it is never retried blindly. The error that broke the
// connection is wrapped alongside. Give the work an idempotency key (TxKey, SQLTxKey) to have the retry find out.
var ErrCommitUnknown = errors.New("retry: the connection broke during COMMIT, so whether the transaction committed is unknown")

// GaveUpError is returned when the retries run out: the policy's attempts or time, or the context.
type GaveUpError struct {
	Attempts int
	Elapsed  time.Duration
	Reason   string // "max attempts", "max elapsed", "context deadline", or the context's error
	Err      error  // the last attempt's error
	ctxErr   error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("retry: gave up after %d attempts in %s (%s): %v", e.Attempts, e.Elapsed.Round(time.Millisecond), e.Reason, e.Err)
}

// Unwrap gives the last attempt's error and, when the context ended the retries, the context's error.
func (e *GaveUpError) Unwrap() []error {
	if e.ctxErr != nil {
		return []error{e.Err, e.ctxErr}
	}
	return []error{e.Err}
}

// run is the loop under every helper: attempt returns whether a retry may clear its error, and the error.
func (p *Policy) run(ctx context.Context, attempt func(context.Context) (bool, error)) error {
	if p == nil {
		p = Interactive()
	}
	start := time.Now()
	for n := 1; ; n++ {
		again, err := attempt(ctx)
		if err == nil || !again {
			return err
		}
		giveUp := func(reason string, ctxErr error) error {
			return &GaveUpError{Attempts: n, Elapsed: time.Since(start), Reason: reason, Err: err, ctxErr: ctxErr}
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return giveUp(ctxErr.Error(), ctxErr)
		}
		if p.MaxAttempts > 0 && n >= p.MaxAttempts {
			return giveUp("max attempts", nil)
		}
		wait := p.wait(n)
		if p.MaxElapsed > 0 {
			left := p.MaxElapsed - time.Since(start)
			if left <= 0 {
				return giveUp("max elapsed", nil)
			}
			wait = min(wait, left)
		}
		// The caller's deadline wins: an attempt that would start after it is not worth the wait.
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return giveUp("context deadline", nil)
		}
		if p.OnRetry != nil {
			p.OnRetry(Event{Attempt: n, Err: err, Cause: catalog.ClassifyError(err), Wait: wait})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return giveUp(ctx.Err().Error(), ctx.Err())
		case <-t.C:
		}
	}
}
