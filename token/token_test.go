package token_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/token"
)

func TestInspect(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	aud := "https://ossrdbms-aad.database.windows.net"
	tests := []struct {
		name     string
		password string
		kind     token.Kind
		host     string
		user     string
		want     catalog.Code // "" for no problem
	}{
		{"ordinary password", "s3cret-pw", token.None, "db", "app", ""},
		{"password that looks like a JWT", "eyJnot.a.token", token.None, "db", "app", ""},
		{"entra valid", pgtest.EntraToken(aud, now.Add(time.Hour), "a@contoso.com"), token.Entra, "x.postgres.database.azure.com", "a@contoso.com", ""},
		{"entra expired", pgtest.EntraToken(aud, now.Add(-time.Minute), "a@contoso.com"), token.Entra, "x", "a", catalog.AuthTokenExpired},
		{"entra expiring", pgtest.EntraToken(aud+"/", now.Add(4*time.Minute), "a@contoso.com"), token.Entra, "x", "a", catalog.AuthTokenExpiring},
		{"entra for ARM", pgtest.EntraToken("https://management.azure.com/", now.Add(time.Hour), "a@contoso.com"), token.Entra, "x", "a", catalog.AuthTokenWrongAudience},
		{"rds valid", pgtest.RDSToken("db.abc.eu-west-1.rds.amazonaws.com:5432", "app", now.Add(-time.Minute), 15*time.Minute), token.RDSIAM, "db.abc.eu-west-1.rds.amazonaws.com", "app", ""},
		{"rds expired", pgtest.RDSToken("db.abc.eu-west-1.rds.amazonaws.com:5432", "app", now.Add(-16*time.Minute), 15*time.Minute), token.RDSIAM, "db.abc.eu-west-1.rds.amazonaws.com", "app", catalog.AuthTokenExpired},
		{"rds other host", pgtest.RDSToken("db.abc.eu-west-1.rds.amazonaws.com:5432", "app", now, 15*time.Minute), token.RDSIAM, "proxy.example.com", "app", catalog.AuthTokenWrongAudience},
		{"rds other port", pgtest.RDSToken("db.abc.eu-west-1.rds.amazonaws.com:5432", "app", now, 15*time.Minute), token.RDSIAM, "db.abc.eu-west-1.rds.amazonaws.com", "app", catalog.AuthTokenWrongAudience},
		{"rds other user", pgtest.RDSToken("db.abc.eu-west-1.rds.amazonaws.com:5432", "admin", now, 15*time.Minute), token.RDSIAM, "db.abc.eu-west-1.rds.amazonaws.com", "app", catalog.AuthTokenWrongAudience},
		{"cloud sql", "ya29.a0AfB_byC-pgtest-opaque-token", token.CloudSQL, "10.0.0.3", "app@project.iam", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ok := token.Inspect(tt.password)
			if ok != (tt.kind != token.None) || info.Kind != tt.kind {
				t.Fatalf("Inspect: kind %q ok %v, want %q", info.Kind, ok, tt.kind)
			}
			if !ok {
				return
			}
			port := uint16(5432)
			if tt.name == "rds other port" {
				port = 6432
			}
			var got catalog.Code
			p := info.Check(tt.host, port, tt.user, now)
			if p != nil {
				got = p.Code
				if catalog.Lookup(p.Code).Code != p.Code || p.Evidence == "" {
					t.Errorf("problem %+v: not a catalog code, or no evidence", p)
				}
			}
			if got != tt.want {
				t.Errorf("Check: %q, want %q (%+v)", got, tt.want, p)
			}
			// Nothing Inspect returns may carry the token or its secret parts.
			text := info.Describe()
			if p != nil {
				text += p.Evidence
			}
			for _, part := range pgtest.TokenSecrets(tt.password) {
				if strings.Contains(text, part) {
					t.Errorf("output contains a secret part %q: %s", part, text)
				}
			}
		})
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(pgtest.EntraToken("https://ossrdbms-aad.database.windows.net", time.Unix(1e9, 0), "a"))
	f.Add(pgtest.RDSToken("h:5432", "u", time.Unix(1e9, 0), time.Minute))
	f.Add("eyJ.eyJ.x")
	f.Fuzz(func(t *testing.T, s string) {
		info, ok := token.Inspect(s)
		if ok {
			_ = info.Check("h", 5432, "u", time.Now())
			_ = info.Describe()
		}
	})
}
