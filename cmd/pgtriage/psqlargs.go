package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pgtriage/pgtriage/internal/spell"
	"github.com/pgtriage/pgtriage/settings"
)

// connFlags are psql's and pg_isready's connection options, for commands that connect like psql.
type connFlags struct {
	host, port, user, dbname string
	timeout                  int
}

// add defines -h/--host, -p/--port, -U/--username, -d/--dbname and -t/--timeout. -h is psql's host, so the
// command's help moves to --help and -? (psql's own help flags).
func (f *connFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&f.host, "host", "h", "", "database server host or socket directory (as psql -h)")
	fs.StringVarP(&f.port, "port", "p", "", "database server port (as psql -p)")
	fs.StringVarP(&f.user, "username", "U", "", "database user name (as psql -U)")
	fs.StringVarP(&f.dbname, "dbname", "d", "", "database name or connection string (as psql -d)")
	fs.IntVarP(&f.timeout, "timeout", "t", 0, "seconds to wait when connecting, 0 for libpq's default (as pg_isready -t; sets connect_timeout)")
	fs.BoolP("help", "?", false, "help for "+cmd.Name())
}

// resolve turns psql's command line into a connection string and options: `[flags] [DBNAME [USERNAME]]`, where
// DBNAME (or -d) may be a whole connection string. As in psql, a first argument fills the database name unless -d
// gave it, the next one the user name unless -U gave it; values in a connection string win over the flags.
func (f *connFlags) resolve(cmd *cobra.Command, args []string) (string, []settings.Option, error) {
	dbname, user := f.dbname, f.user
	for _, a := range args {
		switch {
		case dbname == "":
			dbname = a
		case user == "":
			user = a
		default:
			return "", nil, usageError("extra argument %q: check takes at most a database name (or connection string) and a user name", a)
		}
	}
	connString := ""
	if isConnString(dbname) {
		connString, dbname = dbname, ""
	} else if hint := connHint(dbname); hint != "" {
		return "", nil, usageError("%q is not a database name nor a connection string; %s", dbname, hint)
	}
	var opts []settings.Option
	add := func(kw, v, flag string) {
		if v != "" {
			opts = append(opts, settings.Option{Keyword: kw, Value: v, Flag: flag})
		}
	}
	add("host", f.host, "-h")
	add("port", f.port, "-p")
	add("user", user, "-U")
	add("dbname", dbname, "-d")
	if cmd.Flags().Changed("timeout") {
		if f.timeout < 0 {
			return "", nil, usageError("-t/--timeout must be 0 or more seconds, not %d", f.timeout)
		}
		add("connect_timeout", strconv.Itoa(f.timeout), "-t")
	}
	return connString, opts, nil
}

// isConnString: libpq expands a database name into a connection string when it is a URL or contains "=".
func isConnString(s string) bool {
	return strings.Contains(s, "=") || strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// hostPort matches what people type for a server: [USER@]HOST[:PORT][/DBNAME], e.g. 127.0.0.1:5432 or
// app@db.example.com/orders. A database name has no ':', '@' or '/', so such a word is a mistaken address.
var hostPort = regexp.MustCompile(`^(?:([^@:/\s]+)@)?(\[[0-9a-fA-F:.]+\]|[^@:/\s\[\]]+)(?::(\d*))?(?:/([^@:/\s]*))?$`)

// connHint says how to write what was typed in both accepted forms when it looks like an address rather than a
// database name; "" when it looks like a database name.
func connHint(s string) string {
	if !strings.ContainsAny(s, ":@/") {
		return ""
	}
	m := hostPort.FindStringSubmatch(s)
	if m == nil {
		return `write a URL (postgres://USER@HOST:PORT/DBNAME) or keyword/value settings ("host=HOST port=PORT user=USER dbname=DBNAME")`
	}
	user, host, port, db := m[1], m[2], m[3], m[4]
	var kv, flags []string
	url := "postgres://"
	if user != "" {
		url += user + "@"
	}
	url += host
	kv = append(kv, "host="+strings.Trim(host, "[]"))
	flags = append(flags, "-h "+strings.Trim(host, "[]"))
	if port != "" {
		url += ":" + port
		kv = append(kv, "port="+port)
		flags = append(flags, "-p "+port)
	}
	if user != "" {
		kv = append(kv, "user="+user)
		flags = append(flags, "-U "+user)
	}
	url += "/" + db
	if db != "" {
		kv = append(kv, "dbname="+db)
		flags = append(flags, "-d "+db)
	}
	return fmt.Sprintf("write %s or %q (or psql's flags: %s)", url, strings.Join(kv, " "), strings.Join(flags, " "))
}

// flagError makes an unknown flag a usage error that suggests the nearest flag of the command and points at --help.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name := ""
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		name = strings.TrimPrefix(msg, "unknown flag: --")
	case strings.HasPrefix(msg, "unknown shorthand flag: '"):
		name = msg[len("unknown shorthand flag: '"):][:1]
	}
	if name != "" {
		if s := nearestFlag(cmd.Flags(), name); s != "" {
			msg += "; did you mean " + s + "?"
		}
		msg += fmt.Sprintf(" (see %s --help)", cmd.CommandPath())
	}
	return &exitError{Code: usageExit, Err: fmt.Errorf("%s", msg)}
}

// nearestFlag is the flag spelled most like name: a long name within two edits, or a shorthand differing only in
// case (-u for -U).
func nearestFlag(fs *pflag.FlagSet, name string) string {
	var names []string
	found := ""
	fs.VisitAll(func(f *pflag.Flag) {
		if len(name) == 1 && f.Shorthand != "" && strings.EqualFold(f.Shorthand, name) {
			found = "-" + f.Shorthand
		}
		names = append(names, f.Name)
	})
	if len(name) == 1 {
		return found
	}
	if n := spell.Nearest(name, names, 2); n != "" {
		return "--" + n
	}
	return ""
}
