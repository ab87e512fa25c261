package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/retry"
)

// The waits a policy gives, read from OnRetry: within the step, growing by the multiplier up to the cap.
func TestPolicyWaits(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	waits := func(p *retry.Policy, attempts int) []time.Duration {
		var got []time.Duration
		p.MaxAttempts = attempts
		p.OnRetry = func(e retry.Event) { got = append(got, e.Wait) }
		_ = retry.Do(context.Background(), p, func(context.Context) error { return refused })
		return got
	}

	tests := []struct {
		name   string
		p      *retry.Policy
		lo, hi []time.Duration // in ms, or in µs when First is below 1 ms
	}{
		{"no jitter", &retry.Policy{First: time.Millisecond, Max: 4 * time.Millisecond},
			[]time.Duration{1, 2, 4, 4}, []time.Duration{1, 2, 4, 4}},
		{"full jitter", &retry.Policy{First: time.Millisecond, Max: 4 * time.Millisecond, Jitter: 1},
			[]time.Duration{0, 0, 0, 0}, []time.Duration{1, 2, 4, 4}},
		{"a fifth of jitter, tripling", &retry.Policy{First: 100 * time.Microsecond, Max: time.Millisecond, Multiplier: 3, Jitter: 0.2},
			[]time.Duration{80, 240, 720, 800}, []time.Duration{100, 300, 900, 1000}},
	}
	for _, tt := range tests {
		for run := 0; run < 20; run++ {
			got := waits(tt.p, 5)
			if len(got) != 4 {
				t.Fatalf("%s: %d waits, want 4", tt.name, len(got))
			}
			for i, w := range got {
				unit := time.Millisecond
				if tt.p.First < time.Millisecond {
					unit = time.Microsecond
				}
				if lo, hi := tt.lo[i]*unit, tt.hi[i]*unit; w < lo || w > hi {
					t.Errorf("%s: wait %d is %s, want within [%s, %s]", tt.name, i+1, w, lo, hi)
				}
			}
		}
	}
}

// The guidance for background work: about 5 s first, doubling, at most 60 s, a capped count.
func TestBackgroundPolicy(t *testing.T) {
	p := retry.Background()
	if p.First != 5*time.Second || p.Max != 60*time.Second || p.MaxAttempts == 0 || p.Jitter > 0.25 {
		t.Errorf("Background() = %+v", p)
	}
	if p.Step(1) != 5*time.Second || p.Step(2) != 10*time.Second || p.Step(5) != 60*time.Second {
		t.Errorf("Background steps %s %s %s, want 5s 10s 60s", p.Step(1), p.Step(2), p.Step(5))
	}
	if p := retry.Interactive(); p.Jitter != 1 || p.MaxElapsed != 20*time.Second || p.Step(1) != 100*time.Millisecond || p.Step(9) != 2*time.Second {
		t.Errorf("Interactive() = %+v", p)
	}
}

// Do with a function that succeeds: no allocation in the retry path (go test -bench Do -benchmem).
func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	p := retry.Interactive()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := retry.Do(ctx, p, func(context.Context) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
