package settings

import (
	"strings"
	"testing"
)

// secret is planted in the texts of the tests; it must never come out.
const secret = "Hunter2pw"

func TestRedactText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`failed (conninfo: postgres://app:Hunter2pw@db:5432/orders)`, `failed (conninfo: postgres://app:********@db:5432/orders)`},
		{`host=db user=app password=Hunter2pw dbname=orders`, `host=db user=app password=******** dbname=orders`},
		{`host=db password='it''s s3cret Hunter2pw' sslmode=require`, `host=db password=******** sslmode=require`},
		{`PGPASSWORD=Hunter2pw psql -h db`, `PGPASSWORD=******** psql -h db`},
		{`{"user": "app", "password": "Hunter2pw"}`, `{"user": "app", "password": ********}`},
		{`sslpassword=keypass`, `sslpassword=********`},
		// Keys ending in pass, password, secret or token, in every case style.
		{`POSTGRES_PASSWORD=Hunter2pw`, `POSTGRES_PASSWORD=********`},
		{`export DB_PASSWORD="Hunter2pw"`, `export DB_PASSWORD=********`},
		{`{"dbPassword": "Hunter2pw", "host": "db"}`, `{"dbPassword": ********, "host": "db"}`},
		{`--db-password=Hunter2pw --port 5432`, `--db-password=******** --port 5432`},
		{`db_pass: Hunter2pw`, `db_pass: ********`},
		{`DbPass=Hunter2pw;Server=db`, `DbPass=********;Server=db`},
		{`secret=Hunter2pw`, `secret=********`},
		{`client_secret: 'Hunter2pw'`, `client_secret: ********`},
		{`AUTH_TOKEN=Hunter2pw`, `AUTH_TOKEN=********`},
		{`apiToken: "Hunter2pw"`, `apiToken: ********`},
		{`Password=Hunter2pw;Host=db`, `Password=********;Host=db`},
		{`postgres://db/orders?sslmode=require&password=Hunter2pw&user=app`, `postgres://db/orders?sslmode=require&password=********&user=app`},
		// User information without a scheme, and a password holding an @ (the user information ends at the last @).
		{`dial app:Hunter2pw@db.example.com:5432 failed`, `dial app:********@db.example.com:5432 failed`},
		{`DATABASE_URL=app:Hunter2pw@db:5432/orders`, `DATABASE_URL=app:********@db:5432/orders`},
		{`postgres://app:Hun@ter2pw@db:5432/orders`, `postgres://app:********@db:5432/orders`},
		{`postgresql://app:p@ss@Hunter2pw@db/orders`, `postgresql://app:********@db/orders`},
		{`app:p@Hunter2pw@db`, `app:********@db`},
		// A quote that is never closed hides the rest.
		{`password='Hunter2pw and the rest`, `password=********`},
		// Messages about passwords are not secrets.
		{`FATAL: password authentication failed for user "app"`, `FATAL: password authentication failed for user "app"`},
		{`fe_sendauth: no password supplied`, `fe_sendauth: no password supplied`},
		{`postgres://app@db:5432/orders`, `postgres://app@db:5432/orders`},
		{`connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  too many connections`, `connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  too many connections`},
		{`2024-05-01 10:00:00 UTC [123] app@orders FATAL:  password authentication failed`, `2024-05-01 10:00:00 UTC [123] app@orders FATAL:  password authentication failed`},
	} {
		got := RedactText(tt.in)
		if got != tt.want {
			t.Errorf("RedactText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, secret) {
			t.Errorf("secret left in %q", got)
		}
	}
}

// plantings are the shapes in which a secret comes in pasted text.
var plantings = []string{
	`password=` + secret, `PGPASSWORD=` + secret, `POSTGRES_PASSWORD=` + secret, `DB_PASSWORD='` + secret + `'`,
	`"dbPassword": "` + secret + `"`, `db-password: ` + secret, `secret=` + secret, `API_TOKEN=` + secret,
	`postgres://app:` + secret + `@db/orders`, `postgres://app:p@` + secret + `@db/orders`, `app:` + secret + `@db:5432`,
	`host=db password='a b ` + secret + `'`, `?sslmode=require&password=` + secret + `&x=1`,
}

// FuzzRedactText plants a secret in one of the shapes it comes in, between any texts: it never survives.
func FuzzRedactText(f *testing.F) {
	f.Add("", "", uint8(0))
	f.Add(`password="`, `"`, uint8(4))
	f.Add(`postgres://u:`, `@h`, uint8(8))
	f.Add(`'`, `''`, uint8(11))
	f.Fuzz(func(t *testing.T, before, after string, shape uint8) {
		if strings.Contains(before+after, secret) {
			return
		}
		in := before + " " + plantings[int(shape)%len(plantings)] + " " + after
		if got := RedactText(in); strings.Contains(got, secret) {
			t.Fatalf("RedactText(%q) = %q", in, got)
		}
	})
}
