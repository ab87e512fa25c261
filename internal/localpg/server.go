package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
)

// server says how to run the PostgreSQL binaries of this machine.
type server struct {
	bindir string
	// cred is nil when the tests do not run as root; otherwise the server
	// programs run as, and their files belong to, the postgres user, because
	// postgres refuses to run as root.
	cred *serverUser
}

// ErrNoServer says this machine has no PostgreSQL server binaries. Tests skip on it (any other error fails them: a
// wrong PG_BINDIR, say, should not pass for a machine without PostgreSQL).
var ErrNoServer = errors.New("no PostgreSQL server binaries: set PG_BINDIR or install the server (initdb is neither under /usr/lib/postgresql/*/bin nor on PATH)")

// findServer is done once per test binary: the answer cannot change.
var findServer = sync.OnceValues(func() (*server, error) {
	bindir, err := findBindir()
	if err != nil {
		return nil, err
	}
	s := &server{bindir: bindir}
	if os.Geteuid() == 0 { // never on Windows (-1)
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root, but there is no postgres user to run the server as (%v)", ErrNoServer, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &serverUser{uid: uid, gid: gid}
	}
	return s, nil
})

// findBindir picks PG_BINDIR, else the highest major version of the Debian
// layout, else the directory of initdb on PATH.
func findBindir() (string, error) {
	if dir := os.Getenv("PG_BINDIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "initdb"+exeSuffix)); err != nil {
			return "", fmt.Errorf("PG_BINDIR=%s has no initdb: %w", dir, err)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "", -1
	for _, dir := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err != nil || v <= bestVersion {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			best, bestVersion = dir, v
		}
	}
	if best != "" {
		return best, nil
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return "", ErrNoServer
	}
	return filepath.Dir(initdb), nil
}

// run runs program (a server program by name, or any by absolute path) as
// the server user in dir and returns its combined output in the error.
func (s *server) run(ctx context.Context, dir, program string, args ...string) error {
	if !filepath.IsAbs(program) {
		program = filepath.Join(s.bindir, program)
	}
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = dir
	// A clean environment: PG* variables of the developer must not steer
	// initdb or pg_ctl, and the locale must not depend on the machine.
	cmd.Env = append(baseEnv(s.bindir), "LC_ALL=C", "TZ=UTC")
	if s.cred != nil {
		runAs(cmd, s.cred)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w\n%s", program, args, err, out.Bytes())
	}
	return nil
}

// own gives path to the server user, so that the server can read it (and,
// for a private key, so that postgres accepts its permissions).
func (s *server) own(path string) error {
	if s.cred == nil {
		return nil
	}
	return os.Chown(path, s.cred.uid, s.cred.gid)
}

// writeFile writes a file that the server reads.
func (s *server) writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return s.own(path)
}
