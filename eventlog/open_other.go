//go:build !unix

package eventlog

import (
	"fmt"
	"os"
)

// openFile opens or creates the log, refusing a symbolic link. Without O_NOFOLLOW the link is looked for before the
// open, and the file opened must be the one looked at.
func openFile(path string) (*os.File, error) {
	before, err := os.Lstat(path)
	if err == nil && before.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link: give the path of the event log itself", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if before != nil {
		if now, err := f.Stat(); err != nil || !os.SameFile(before, now) {
			f.Close()
			return nil, fmt.Errorf("%s changed while it was opened", path)
		}
	}
	return f, nil
}
