package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// MayMatch reports whether a line could hold words that the catalog recognises. False means surely not: every text
// pattern of every matcher, and every SQLSTATE a matcher names alone, has an anchor of four bytes, and MayMatch looks
// for the anchors only. Lines of an ordinary server log (checkpoints, connections, durations, autovacuum) rarely
// hold one, so a reader of a whole log classifies only the few messages that do.
//
// A message none of whose lines MayMatch is classified [Unknown] by [Classify].
func MayMatch(line []byte) bool {
	prepareOnce.Do(prepare)
	var h uint32
	for _, c := range line {
		h = h<<8 | uint32(lowerByte[c])
		x := (h * 0x9E3779B1) >> (32 - anchorBitsLog)
		if anchorBits[x>>6]&(1<<(x&63)) != 0 {
			if _, ok := anchorSet[h]; ok {
				return true
			}
		}
	}
	return false
}

// anchorBitsLog sizes the bit table that answers most lookups before the exact set must: 2^18 bits, 32 KiB.
const anchorBitsLog = 18

var (
	anchorBits [1 << anchorBitsLog / 64]uint64
	anchorSet  = map[uint32]struct{}{}
	lowerByte  [256]byte
)

// ordinary is text of the kind a server log is mostly made of; an anchor is chosen among a pattern's four-byte
// pieces as the one least frequent here, so that ordinary lines rarely pass the prefilter.
const ordinary = `2024-05-01 10:00:00.123 UTC [1234] LOG:  checkpoint starting: time
LOG:  checkpoint complete: wrote 1234 buffers (7.5%); 0 WAL file(s) added, 0 removed, 1 recycled; write=269.841 s, sync=0.004 s, total=269.866 s; sync files=52, longest=0.002 s, average=0.001 s; distance=9876 kB, estimate=10240 kB
LOG:  connection received: host=10.0.0.5 port=52344
LOG:  connection authorized: user=app database=orders application_name=psql SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
LOG:  disconnection: session time: 0:00:01.234 user=app database=orders host=10.0.0.5 port=52344
LOG:  duration: 1234.567 ms  statement: SELECT id, name, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 50
LOG:  duration: 0.123 ms  execute <unnamed>: UPDATE accounts SET balance = balance - $1 WHERE id = $2
DETAIL:  parameters: $1 = '100', $2 = '42'
LOG:  automatic vacuum of table "orders.public.order_items": index scans: 1
	pages: 0 removed, 1234 remain, 56 scanned (4.54% of total)
	tuples: 789 removed, 12345 remain, 0 are dead but not yet removable
LOG:  automatic analyze of table "orders.public.customers" system usage: CPU: user: 0.01 s, system: 0.00 s, elapsed: 0.05 s
LOG:  database system is ready to accept connections
LOG:  starting logical replication worker for subscription "sub"
INFO  [main] c.e.app.OrderService - processed request in 12 ms for user 42, status=200 OK
`

// prepareOnce builds the prefilter and the patterns at first use rather than at start-up: it compiles hundreds of
// expressions (about 9 ms), which a healthy `check` never needs.
var prepareOnce sync.Once

func prepare() {
	freq := map[string]int{}
	low := strings.ToLower(ordinary)
	for i := 0; i+4 <= len(low); i++ {
		freq[low[i:i+4]]++
	}
	for i := range lowerByte {
		lowerByte[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			lowerByte[i] = byte(i + 'a' - 'A')
		}
	}
	for i := range causes {
		c := &causes[i]
		for j := range c.matchers {
			mt := &c.matchers[j]
			if len(mt.text) == 0 && mt.sqlstate != "" {
				addAnchor(strings.ToLower(mt.sqlstate[:4]))
			}
			for _, t := range mt.text {
				runs := literalRuns(t)
				p := pattern{text: t, anchor: addAnchor(rarest(runs, freq, c.Code, t))}
				if rx, ok := strings.CutPrefix(t, "re:"); ok {
					p.rx, p.runs = regexp.MustCompile(rx), runs
				}
				mt.prepared = append(mt.prepared, p)
			}
		}
	}
}

// literalRuns are the pieces of a pattern that any text it matches contains as they are.
func literalRuns(pattern string) []string {
	rx, ok := strings.CutPrefix(pattern, "re:")
	if !ok {
		return []string{pattern}
	}
	if strings.ContainsAny(rx, "|?") {
		// An alternation or an optional piece makes a run optional; write such a pattern as several instead.
		panic(fmt.Sprintf("catalog: pattern %q: no | or ? in patterns, so that the prefilter can anchor them", pattern))
	}
	var runs []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			runs = append(runs, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(rx); i++ {
		switch c := rx[i]; c {
		case '\\':
			flush()
			i++ // the escaped character: a class (\d, \s) or a quoted one; either way it ends the run
		case '*', '{':
			// The character before is optional: it leaves the run.
			if cur.Len() > 0 {
				r := cur.String()
				cur.Reset()
				cur.WriteString(r[:len(r)-1])
			}
			flush()
			if c == '{' {
				for i < len(rx) && rx[i] != '}' {
					i++
				}
			}
		case '.', '+', '(', ')', '[', ']', '}', '^', '$':
			flush()
			if c == '[' {
				for i < len(rx) && rx[i] != ']' {
					i++
				}
			}
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return runs
}

func rarest(runs []string, freq map[string]int, code Code, pattern string) string {
	best, bestFreq := "", -1
	for _, r := range runs {
		for i := 0; i+4 <= len(r); i++ {
			g := r[i : i+4]
			if f := freq[g]; bestFreq < 0 || f < bestFreq {
				best, bestFreq = g, f
			}
		}
	}
	if best == "" {
		panic(fmt.Sprintf("catalog: %s: pattern %q has no literal piece of four bytes for the prefilter", code, pattern))
	}
	return best
}

func addAnchor(a string) uint32 {
	var h uint32
	for i := 0; i < 4; i++ {
		h = h<<8 | uint32(a[i])
	}
	anchorSet[h] = struct{}{}
	x := (h * 0x9E3779B1) >> (32 - anchorBitsLog)
	anchorBits[x>>6] |= 1 << (x & 63)
	return h
}
