package pgtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// EntraToken makes an unsigned JWT shaped like a Microsoft Entra ID access token: audience aud, expiry exp,
// principal upn. Only its claims are read (nothing checks a signature without the issuer), so a fixed signature
// part is enough; it is long and random-looking so that a test can grep output for any piece of it.
func EntraToken(aud string, exp time.Time, upn string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := enc(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "pgtest"})
	claims := enc(map[string]any{"aud": aud, "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
		"iat": exp.Add(-time.Hour).Unix(), "nbf": exp.Add(-time.Hour).Unix(), "exp": exp.Unix(), "upn": upn})
	return header + "." + claims + ".c2lnbmF0dXJlLW9mLXBndGVzdC1ub3QtdmFsaWQtWk5xN3ZMcTJ4UjhrUDNt"
}

// RDSToken makes a token shaped like an Amazon RDS IAM authentication token (a presigned rds-db:connect URL)
// for hostPort and user, signed at signed and valid for validity.
func RDSToken(hostPort, user string, signed time.Time, validity time.Duration) string {
	q := url.Values{}
	q.Set("Action", "connect")
	q.Set("DBUser", user)
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", "AKIAPGTESTEXAMPLE7Q/"+signed.UTC().Format("20060102")+"/eu-west-1/rds-db/aws4_request")
	q.Set("X-Amz-Date", signed.UTC().Format("20060102T150405Z"))
	q.Set("X-Amz-Expires", fmt.Sprint(int(validity.Seconds())))
	q.Set("X-Amz-SignedHeaders", "host")
	q.Set("X-Amz-Signature", "9f3c2d7e5b1a4c8d6e0f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f")
	return hostPort + "/?" + q.Encode()
}

// TokenSecrets are the pieces of a token that no output may contain: the whole, each part of a JWT (its claims
// may be printed decoded, never encoded), and an RDS token's signature and credential.
func TokenSecrets(tok string) []string {
	parts := []string{tok}
	if strings.Count(tok, ".") == 2 {
		parts = append(parts, strings.Split(tok, ".")...)
	}
	for _, k := range []string{"X-Amz-Signature=", "X-Amz-Credential="} {
		if _, v, ok := strings.Cut(tok, k); ok {
			v, _, _ = strings.Cut(v, "&")
			parts = append(parts, v)
		}
	}
	return parts
}
