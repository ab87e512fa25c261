package report

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
)

// BenchmarkReportMemory writes a log of a million events (ten targets over a year) and makes its report twice: as
// report did before, reading every event into memory and folding them, and folding while reading. It prints the
// peak heap and the peak RSS of each; it compares memory, so run it once:
//
//	go test -run '^$' -bench ReportMemory -benchtime 1x ./report
func BenchmarkReportMemory(b *testing.B) {
	path := filepath.Join(b.TempDir(), "events.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	synth(1_000_000, 365*24*time.Hour, 10, func(ev eventlog.Event) {
		if err := enc.Encode(ev); err != nil {
			b.Fatal(err)
		}
	})
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	b.Logf("log: 1,000,000 events, %d MB", fi.Size()>>20)

	render := func(read func(r io.Reader, fold *Folder) error) (heap, rss uint64) {
		debug.FreeOSMemory() // the run before gives its memory back, so that the peak RSS is this run's
		resetPeakRSS(b)
		peak := newHeapPeak()
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		fold := NewFolder()
		if err := read(peak.reader(in), fold); err != nil {
			b.Fatal(err)
		}
		if err := fold.Write(io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
		peak.sample()
		return peak.max, peakRSS(b)
	}
	for range b.N {
		beforeHeap, beforeRSS := render(func(r io.Reader, fold *Folder) error {
			events, _, err := eventlog.ReadEvents(r)
			for _, ev := range events {
				fold.Add(ev)
			}
			return err
		})
		afterHeap, afterRSS := render(func(r io.Reader, fold *Folder) error {
			_, err := eventlog.Scan(r, fold.Add)
			return err
		})
		b.Logf("every event in memory, then folded: peak heap %4d MB, peak RSS %4d MB", beforeHeap>>20, beforeRSS>>20)
		b.Logf("folded while read:                  peak heap %4d MB, peak RSS %4d MB", afterHeap>>20, afterRSS>>20)
		b.ReportMetric(float64(afterHeap>>20), "peak-heap-MB")
	}
}

// heapPeak samples the live heap as the log is read, every 256 KB.
type heapPeak struct {
	s   []metrics.Sample
	max uint64
}

func newHeapPeak() *heapPeak {
	return &heapPeak{s: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
}

func (p *heapPeak) sample() {
	metrics.Read(p.s)
	p.max = max(p.max, p.s[0].Value.Uint64())
}

type sampledReader struct {
	r    io.Reader
	p    *heapPeak
	read int
}

func (p *heapPeak) reader(r io.Reader) io.Reader { return &sampledReader{r: r, p: p} }

func (s *sampledReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if s.read += n; s.read >= 256<<10 {
		s.read = 0
		s.p.sample()
	}
	return n, err
}

// resetPeakRSS starts the peak RSS (VmHWM) again from the current RSS (Linux's clear_refs).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not reset: %v", err)
	}
}

// peakRSS is VmHWM of /proc/self/status, or 0 where there is none.
func peakRSS(b *testing.B) uint64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(s), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
