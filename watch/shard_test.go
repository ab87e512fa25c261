package watch

import (
	"fmt"
	"testing"

	"github.com/pgtriage/pgtriage/settings"
)

// TestShardHashmod checks the shards against values of Prometheus's hashmod computed outside Go (Python's hashlib:
// int.from_bytes(md5(name).digest()[8:], "big") % N), and that the shards of a fleet split it exactly.
func TestShardHashmod(t *testing.T) {
	for _, v := range []struct {
		name       string
		mod3, mod7 uint64
	}{
		{"orders", 1, 6}, {"billing", 2, 6}, {"app@127.0.0.1:5432/postgres", 1, 2},
		{"db-0001", 2, 0}, {"db-0002", 0, 0}, {"db-0003", 1, 6},
	} {
		for _, c := range []struct{ n, want uint64 }{{3, v.mod3}, {7, v.mod7}} {
			for i := uint64(0); i < c.n; i++ {
				if got := (Shard{Index: i, Count: c.n}).Has(v.name); got != (i == c.want) {
					t.Errorf("shard %d/%d has %s: %v, want hashmod %d", i, c.n, v.name, got, c.want)
				}
			}
		}
	}
	var fleet []Target
	for i := range 300 {
		fleet = append(fleet, Target{Name: fmt.Sprintf("db-%04d", i), Settings: &settings.Settings{}})
	}
	seen := map[string]int{}
	for i := range uint64(3) {
		part := Shard{Index: i, Count: 3}.Keep(fleet)
		if len(part) < 60 { // 100 expected; md5 spreads names evenly
			t.Errorf("shard %d/3 has only %d of 300 targets", i, len(part))
		}
		for _, tg := range part {
			seen[tg.Name]++
		}
	}
	for _, tg := range fleet {
		if seen[tg.Name] != 1 {
			t.Errorf("%s is in %d shards", tg.Name, seen[tg.Name])
		}
	}
}

func TestParseShard(t *testing.T) {
	if s, err := ParseShard("2/5"); err != nil || s != (Shard{2, 5}) {
		t.Errorf("2/5: %v %v", s, err)
	}
	for _, bad := range []string{"", "1", "3/3", "0/0", "-1/2", "a/b", "1/2/3"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
