package settings

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad checks that no input panics, that every error is an *Error, and
// that a password given in the input never shows in the result or the error.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"",
		"host=db.example.com port=5432 dbname=orders user=app password=Fuzz3dPw sslmode=verify-full",
		"postgres://app:Fuzz3dPw@h1:5432,h2:5433/orders?sslmode=require&connect_timeout=5",
		"postgresql://[::1]:5432,[fe80::1%25eth0]/db?ssl=true",
		"postgres://u:sec/ret@h",
		"host='a b' password='it\\'s' options='-c x=1'",
	} {
		f.Add(s)
	}
	isolate(f)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Load(in)
		const pw = "Fuzz3dPw"
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if strings.Contains(in, pw) && (strings.Contains(e.Error(), pw) || strings.Contains(e.Value, pw)) {
				t.Fatalf("error leaks the password: %q", e.Error())
			}
			return
		}
		if len(s.Targets) == 0 {
			t.Fatal("no targets")
		}
		_ = s.Target()
		_ = s.TargetConfig(len(s.Targets) - 1)
		if s.Config.Password == pw {
			if strings.Contains(s.Target(), pw) {
				t.Fatalf("Target() leaks the password: %q", s.Target())
			}
			for _, p := range s.Params {
				if strings.Contains(p.Value, pw) {
					t.Fatalf("param %s leaks the password", p.Keyword)
				}
			}
		}
	})
}
