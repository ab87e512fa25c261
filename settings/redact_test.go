package settings

import (
	"strings"
	"testing"
)

func TestRedactText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`failed (conninfo: postgres://app:Hunter2pw@db:5432/orders)`, `failed (conninfo: postgres://app:********@db:5432/orders)`},
		{`host=db user=app password=Hunter2pw dbname=orders`, `host=db user=app password=******** dbname=orders`},
		{`host=db password='it''s s3cret' sslmode=require`, `host=db password=******** sslmode=require`},
		{`PGPASSWORD=Hunter2pw psql -h db`, `PGPASSWORD=******** psql -h db`},
		{`{"user": "app", "password": "Hunter2pw"}`, `{"user": "app", "password": ********}`},
		{`sslpassword=keypass`, `sslpassword=********`},
		// Messages about passwords are not secrets.
		{`FATAL: password authentication failed for user "app"`, `FATAL: password authentication failed for user "app"`},
		{`fe_sendauth: no password supplied`, `fe_sendauth: no password supplied`},
		{`postgres://app@db:5432/orders`, `postgres://app@db:5432/orders`},
	} {
		got := RedactText(tt.in)
		if got != tt.want {
			t.Errorf("RedactText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "Hunter2pw") {
			t.Errorf("secret left in %q", got)
		}
	}
}
