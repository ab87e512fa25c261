// Package token reads the access tokens that managed PostgreSQL services accept in place of a password, without
// any network: Microsoft Entra ID access tokens (JWTs) for Azure Database for PostgreSQL, Amazon RDS IAM
// authentication tokens (presigned URLs) and Google OAuth2 access tokens for Cloud SQL IAM authentication. These
// expire within minutes to an hour, and the server then says only "password authentication failed"; [Inspect]
// says so before the server does.
//
// Nothing here verifies a signature: only the issuer can. What it reads (the audience, the expiry, the host a
// token was signed for) is what goes wrong in practice. A token is a secret: no string this package returns
// contains it, or any part of it that grants access (signatures, session tokens, access key IDs).
package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/catalog"
)

// Kind is the kind of token a password is.
type Kind string

// The kinds of token Inspect knows.
const (
	None     Kind = ""
	Entra    Kind = "entra"        // Microsoft Entra ID access token (JWT), Azure Database for PostgreSQL
	RDSIAM   Kind = "rds-iam"      // Amazon RDS IAM authentication token (a presigned rds-db:connect URL)
	CloudSQL Kind = "cloudsql-iam" // Google OAuth2 access token, opaque
)

// Soon is how close to its expiry a token draws a warning: a pool that opens a connection later with the same
// token fails.
const Soon = 5 * time.Minute

// Info is what can be read from a token without any network. Every field is safe to print.
type Info struct {
	Kind Kind
	// Expires is when the token stops being accepted; zero when it cannot be read (Cloud SQL's opaque tokens).
	Expires time.Time
	// Audience is the resource an Entra ID token is for; Host the host:port an RDS token was signed for.
	Audience string
	Host     string
	// Subject is the principal the token names (Entra ID upn or app id; RDS DBUser), to compare with the user.
	Subject string
	// Opaque says that the expiry and audience cannot be read locally.
	Opaque bool
}

// Problem is what is wrong with a token, as a cause code and the evidence, at the time asked.
type Problem struct {
	Code     catalog.Code
	Evidence string
}

// Inspect reads password as a token; ok is false when it is not one (an ordinary password). It never returns an
// error: a string that merely looks like a token but does not decode is an ordinary password to the server too.
func Inspect(password string) (Info, bool) {
	switch {
	case strings.HasPrefix(password, "ya29."):
		return Info{Kind: CloudSQL, Opaque: true}, true
	case strings.HasPrefix(password, "eyJ") && strings.Count(password, ".") == 2:
		return entra(password)
	case strings.Contains(password, "X-Amz-Signature=") && strings.Contains(password, "Action=connect"):
		return rdsIAM(password)
	}
	return Info{}, false
}

// entra decodes a JWT's claims; only tokens with an audience and an expiry count.
func entra(jwt string) (Info, bool) {
	parts := strings.Split(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Info{}, false
	}
	var claims struct {
		Aud   json.RawMessage `json:"aud"`
		Exp   json.Number     `json:"exp"`
		UPN   string          `json:"upn"`
		Name  string          `json:"unique_name"`
		AppID string          `json:"appid"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return Info{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 {
		return Info{}, false
	}
	info := Info{Kind: Entra, Expires: time.Unix(int64(exp), 0).UTC(), Subject: claims.UPN}
	if info.Subject == "" {
		info.Subject = claims.Name
	}
	if info.Subject == "" {
		info.Subject = claims.AppID
	}
	// aud is a string or a list of strings (RFC 7519).
	var one string
	var many []string
	switch {
	case json.Unmarshal(claims.Aud, &one) == nil:
		info.Audience = one
	case json.Unmarshal(claims.Aud, &many) == nil:
		info.Audience = strings.Join(many, " ")
	}
	return info, true
}

// rdsIAM reads an RDS IAM token: "host:port/?Action=connect&DBUser=...&X-Amz-Date=...&X-Amz-Expires=...".
func rdsIAM(token string) (Info, bool) {
	u, err := url.Parse("https://" + strings.TrimPrefix(token, "https://"))
	if err != nil {
		return Info{}, false
	}
	q := u.Query()
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return Info{}, false
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs <= 0 {
		return Info{}, false
	}
	return Info{Kind: RDSIAM, Expires: signed.Add(time.Duration(secs) * time.Second), Host: u.Host, Subject: q.Get("DBUser")}, true
}

// Check says what is wrong with the token for a connection to host:port as user at the time now: expired,
// expiring within Soon, or for another audience or host. nil when nothing is wrong that can be seen locally.
func (i Info) Check(host string, port uint16, user string, now time.Time) *Problem {
	switch {
	case i.Kind == RDSIAM && i.Host != "" && !sameHostPort(i.Host, host, port):
		return &Problem{catalog.AuthTokenWrongAudience, fmt.Sprintf("the RDS IAM token was signed for %s, but the connection goes to %s:%d; the signature covers the host name and port", i.Host, host, port)}
	case i.Kind == RDSIAM && i.Subject != "" && user != "" && i.Subject != user:
		return &Problem{catalog.AuthTokenWrongAudience, fmt.Sprintf("the RDS IAM token was made for DBUser %s, but the connection logs in as %s", i.Subject, user)}
	case i.Kind == Entra && !catalog.IsEntraAudience(i.Audience):
		return &Problem{catalog.AuthTokenWrongAudience, fmt.Sprintf("the Entra ID token is for %q, not for Azure Database for PostgreSQL (%s)", i.Audience, catalog.EntraAudiences[0])}
	case i.Expires.IsZero():
		return nil
	case !now.Before(i.Expires):
		return &Problem{catalog.AuthTokenExpired, fmt.Sprintf("the %s token expired at %s, %s ago", i.Kind, i.Expires.Format(time.RFC3339), now.Sub(i.Expires).Round(time.Second))}
	case i.Expires.Sub(now) < Soon:
		return &Problem{catalog.AuthTokenExpiring, fmt.Sprintf("the %s token expires at %s, in %s", i.Kind, i.Expires.Format(time.RFC3339), i.Expires.Sub(now).Round(time.Second))}
	}
	return nil
}

// Describe says in one line what the token is, without any secret part, for the settings stage.
func (i Info) Describe() string {
	switch i.Kind {
	case Entra:
		return fmt.Sprintf("password is a Microsoft Entra ID token for %q, expires %s", i.Audience, i.Expires.Format(time.RFC3339))
	case RDSIAM:
		return fmt.Sprintf("password is an RDS IAM token for %s, expires %s", i.Host, i.Expires.Format(time.RFC3339))
	case CloudSQL:
		return "password is a Google OAuth2 access token (Cloud SQL IAM): opaque, its expiry (1 hour after issue) and scopes cannot be read locally"
	}
	return ""
}

func sameHostPort(signed, host string, port uint16) bool {
	h, p, err := net.SplitHostPort(signed)
	if err != nil {
		h, p = signed, "5432"
	}
	return strings.EqualFold(strings.TrimSuffix(h, "."), strings.TrimSuffix(host, ".")) && p == strconv.Itoa(int(port))
}
