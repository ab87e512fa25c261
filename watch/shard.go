package watch

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of N parts of a fleet: the targets whose name hashes to Index modulo Count.
type Shard struct {
	Index, Count uint64
}

// ParseShard reads "I/N" (0 <= I < N).
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.ParseUint(i, 10, 64)
	count, err2 := strconv.ParseUint(n, 10, 64)
	if !ok || err1 != nil || err2 != nil || count == 0 || index >= count {
		return Shard{}, fmt.Errorf("--shard %q: want I/N with 0 <= I < N, e.g. 0/3", s)
	}
	return Shard{Index: index, Count: count}, nil
}

// Has says whether the target named name is in the shard. The hash is Prometheus's hashmod relabelling action
// (model/relabel: the last 8 bytes of the MD5 of the value, big-endian, modulo N), so that a watcher's shard and a
// Prometheus shard relabelled with hashmod on the same name hold the same targets.
func (s Shard) Has(name string) bool {
	sum := md5.Sum([]byte(name))
	return binary.BigEndian.Uint64(sum[8:])%s.Count == s.Index
}

// Keep returns the targets of the shard, in order.
func (s Shard) Keep(targets []Target) []Target {
	var out []Target
	for _, t := range targets {
		if t.Name == "" {
			t.Name = t.Settings.Target()
		}
		if s.Has(t.Name) {
			out = append(out, t)
		}
	}
	return out
}
