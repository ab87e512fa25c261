package settings

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// passfileLookup is the outcome of looking for one target's password in a
// password file.
type passfileLookup struct {
	password string
	found    bool
	line     int
	// note says what happened, for PasswordInfo.LookedIn.
	note string
	// insecure is set when the file was ignored for its permissions.
	insecure bool
	mode     os.FileMode
}

// passfileKey is what libpq matches a password file line against.
type passfileKey struct{ host, port, dbname, user string }

// lookupPassfile finds the password for key like libpq's passwordFromFile: it
// ignores a file that is not a plain file or, with checkMode, that the group
// or others may access (pgx reads it regardless), skips comments, and returns the first
// matching line.
func lookupPassfile(path string, key passfileKey, checkMode bool) passfileLookup {
	info, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return passfileLookup{note: path + " (not found)"}
	case err != nil:
		return passfileLookup{note: fmt.Sprintf("%s (unreadable: %v)", path, err)}
	case checkInfo(info, MaxSmallFile) != nil:
		return passfileLookup{note: fmt.Sprintf("%s (ignored: %v)", path, checkInfo(info, MaxSmallFile))}
	case checkMode && info.Mode().Perm()&0o077 != 0:
		return passfileLookup{
			insecure: true,
			mode:     info.Mode().Perm(),
			note:     fmt.Sprintf("%s (ignored: permissions %04o allow group/world access)", path, info.Mode().Perm()),
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return passfileLookup{note: fmt.Sprintf("%s (unreadable: %v)", path, err)}
	}
	defer f.Close()

	sc := bufio.NewScanner(io.LimitReader(f, MaxSmallFile))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if pw, ok := matchPassfileLine(line, key); ok {
			return passfileLookup{password: pw, found: true, line: n, note: fmt.Sprintf("%s line %d", path, n)}
		}
	}
	if err := sc.Err(); err != nil {
		return passfileLookup{note: fmt.Sprintf("%s (unreadable: %v)", path, err)}
	}
	return passfileLookup{note: path + " (no matching line)"}
}

// matchPassfileLine matches hostname:port:database:username:password, where
// "*" as a whole field matches anything and a backslash escapes ":" or "\".
func matchPassfileLine(line string, key passfileKey) (string, bool) {
	rest := line
	for _, want := range []string{key.host, key.port, key.dbname, key.user} {
		var ok bool
		if rest, ok = matchPassfileField(rest, want); !ok {
			return "", false
		}
	}
	// The password ends at the first unescaped ':' (libpq ignores the rest).
	var b strings.Builder
	for i := 0; i < len(rest) && rest[i] != ':'; i++ {
		if rest[i] == '\\' && i+1 < len(rest) {
			i++
		}
		b.WriteByte(rest[i])
	}
	return b.String(), true
}

// matchPassfileField reports whether the field at the start of s equals want
// and returns what follows its ':'; it is libpq's pwdfMatchesString.
func matchPassfileField(s, want string) (string, bool) {
	if strings.HasPrefix(s, "*:") {
		return s[2:], true
	}
	var got strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			got.WriteByte(s[i])
			continue
		}
		if c == ':' {
			return s[i+1:], got.String() == want
		}
		got.WriteByte(c)
	}
	return "", false
}
