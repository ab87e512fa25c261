package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgservicefile"
)

// serviceSettings is the service file section a connection uses.
type serviceSettings struct {
	path, name string
	values     map[string]string
}

// findService looks name up like libpq: first in the user's service file
// (primary: the servicefile keyword, PGSERVICEFILE or ~/.pg_service.conf),
// then in PGSYSCONFDIR/pg_service.conf. A missing file is skipped, as libpq
// does. pgx reads only the first file and fails when it is missing.
func findService(name, primary string) (serviceSettings, error) {
	var files []string
	if primary != "" {
		files = append(files, primary)
	}
	if dir := os.Getenv("PGSYSCONFDIR"); dir != "" {
		files = append(files, filepath.Join(dir, "pg_service.conf"))
	}
	for _, path := range files {
		if err := checkFile(path, MaxSmallFile); err != nil {
			return serviceSettings{}, &Error{Keyword: "service", Value: name, Msg: fmt.Sprintf("service file %s: %v", path, err), Err: err}
		}
		sf, err := pgservicefile.ReadServicefile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return serviceSettings{}, &Error{Keyword: "service", Value: name, Msg: fmt.Sprintf("service file %s: %v", path, err), Err: err}
		}
		svc, err := sf.GetService(name)
		if err != nil {
			continue
		}
		for k := range svc.Settings {
			if k == "service" {
				return serviceSettings{}, &Error{Keyword: "service", Value: name, Msg: fmt.Sprintf("service file %s [%s]: nested service specifications are not supported", path, name)}
			}
			if _, known := keywords[k]; !known {
				return serviceSettings{}, &Error{Keyword: safeName(k), Msg: fmt.Sprintf("service file %s [%s]: invalid connection option %s", path, name, nameForError(k, false))}
			}
		}
		return serviceSettings{path: path, name: name, values: svc.Settings}, nil
	}
	where := "no service file found"
	if len(files) > 0 {
		where = "looked in " + strings.Join(files, ", ")
	}
	return serviceSettings{}, &Error{Keyword: "service", Value: name, Msg: fmt.Sprintf("definition of service %q not found (%s)", name, where)}
}
