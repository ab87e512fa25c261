package spell

import "testing"

func TestNearest(t *testing.T) {
	cands := []string{"host", "port", "username", "dbname", "sslmode"}
	for _, tt := range []struct{ word, want string }{
		{"hots", "host"}, {"sslmod", "sslmode"}, {"usernam", "username"}, {"prot", "port"}, {"zzzzzz", ""}, {"", ""},
	} {
		if got := Nearest(tt.word, cands, 2); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
	// A tie goes to the alphabetically first candidate, whatever the order given.
	if got := Nearest("ab", []string{"ac", "aa"}, 1); got != "aa" {
		t.Errorf("tie: %q", got)
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance = %d", d)
	}
}
