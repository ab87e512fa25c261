package settings

import "regexp"

// Secrets written into free text: the password of a URL's user information (with a scheme or without one, as in
// app:pw@db), and the value after a key that names a secret (password, PGPASSWORD, POSTGRES_PASSWORD, dbPassword,
// db-pass, client_secret, api_token, sslpassword, pwd: any key ending in pass, passwd, password, pwd, secret or
// token, in any case style), quoted or not. A password may hold an @: the user information ends at the last @ of
// the word. A quote never closed masks the rest of the text: better too much than a leak.
var (
	urlPassword     = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)\S+@`)
	barePassword    = regexp.MustCompile(`(^|[\s"'<(=,;\[{])([^\s:/@"'<>(),;=\[{]+:)[^\s/]\S*@`)
	keywordPassword = regexp.MustCompile(`(?i)([a-z0-9_.-]*(?:pass|passwd|password|pwd|secret|token))(["']?[ \t]*[=:][ \t]*)('(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.)*"?|[^\s;,&'"}]+)`)
)

// RedactText masks the passwords a foreign text may carry (an error message quoting a connection string, a log
// line, a pasted configuration or environment), so that text a user hands to pgtriage can be shown back without them.
func RedactText(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+mask+"@")
	s = barePassword.ReplaceAllString(s, "${1}${2}"+mask+"@")
	return keywordPassword.ReplaceAllString(s, "${1}${2}"+mask)
}
