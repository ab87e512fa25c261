package settings

import (
	"os"
	"path/filepath"
)

// libpqFiles are where libpq looks for its files when no setting names
// them (pqGetHomeDirectory in libpq): under the home directory on Unix
// (Linux, macOS, FreeBSD); on Windows under %APPDATA%\postgresql, with
// Windows' names and without the permission check of the password file,
// which Windows' ACLs do not map to.
type libpqFiles struct {
	passfile    string // the password file
	servicefile string // the user's service file
	certDir     string // postgresql.crt, postgresql.key, root.crt
	checkMode   bool   // a password file that group or others may read is ignored
	socketDirs  bool   // the default host is a Unix socket directory, if one exists
}

// filesFor gives libpq's conventions on goos, for a user with the given home
// directory and %APPDATA%; an empty one means libpq finds no such file.
func filesFor(goos, home, appData string) libpqFiles {
	if goos == "windows" {
		if appData == "" {
			return libpqFiles{}
		}
		dir := filepath.Join(appData, "postgresql")
		return libpqFiles{
			passfile:    filepath.Join(dir, "pgpass.conf"),
			servicefile: filepath.Join(dir, ".pg_service.conf"),
			certDir:     dir,
		}
	}
	f := libpqFiles{checkMode: true, socketDirs: true}
	if home != "" {
		f.passfile = filepath.Join(home, ".pgpass")
		f.servicefile = filepath.Join(home, ".pg_service.conf")
		f.certDir = filepath.Join(home, ".postgresql")
	}
	return f
}

// defaultHost mirrors pgx's default: on Unix the first existing socket
// directory among its candidates, else (and always on Windows) localhost.
func (f libpqFiles) defaultHost() string {
	if f.socketDirs {
		for _, dir := range []string{"/var/run/postgresql", "/private/tmp", "/tmp"} {
			if _, err := os.Stat(dir); err == nil {
				return dir
			}
		}
	}
	return "localhost"
}
