package settings

import "regexp"

// Secrets written into free text: the password of a URL's user information, and the value after a password keyword
// (libpq's password and sslpassword, PGPASSWORD, a JSON or YAML "password" key), quoted or not.
var (
	urlPassword     = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@`)
	keywordPassword = regexp.MustCompile(`(?i)(\b(?:ssl)?password|\bpgpassword|\bpasswd|\bpwd)(["']?\s*[=:]\s*)('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|[^\s;,&'"}]+)`)
)

// RedactText masks the passwords a foreign text may carry (an error message quoting a connection string, a log
// line, a pasted configuration), so that text a user hands to pgtriage can be shown back without them.
func RedactText(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+mask+"@")
	return keywordPassword.ReplaceAllString(s, "${1}${2}"+mask)
}
