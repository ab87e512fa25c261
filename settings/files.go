package settings

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Caps on the files that settings name. pgx reads sslrootcert, sslcert, sslkey, the password file and the service
// file whole while it parses the settings, and a named pipe or a device (sslrootcert=/dev/zero) would block it or
// never end, so Load checks each file first: a regular file, and no larger than a real one ever is.
const (
	// MaxCertFile caps sslrootcert and sslcert: a bundle of every public root CA (Debian's ca-certificates.crt)
	// is about 220 KB, a client certificate chain a few KB.
	MaxCertFile = 4 << 20
	// MaxSmallFile caps sslkey, the password file and the service file: a key is a few KB, and ten thousand lines
	// of a password or service file stay under 1 MiB.
	MaxSmallFile = 1 << 20
)

// checkFile returns why the file at path must not be read, or nil. A file that does not exist is nil here: what
// a missing file means is the caller's business.
func checkFile(path string, limit int64) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return checkInfo(info, limit)
}

func checkInfo(info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("not a regular file but %s", fileKind(info.Mode()))
	}
	if info.Size() > limit {
		return fmt.Errorf("%d bytes, larger than such a file ever is (at most %d)", info.Size(), limit)
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
}

// ReadFile reads a file that a setting names (sslrootcert, for one), as Load checked it: a regular file of at most
// limit bytes, and no more than limit bytes are read even when it grew since.
func ReadFile(path string, limit int64) ([]byte, error) {
	if err := checkFile(path, limit); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkInfo(info, limit); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s: grew beyond %d bytes while being read", path, limit)
	}
	return b, err
}
