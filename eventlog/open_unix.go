//go:build unix

package eventlog

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openFile opens or creates the log without following a symbolic link at its last step: --events must name the
// log itself, not a link an attacker placed to make watch write into another file.
func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o644)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: give the path of the event log itself", path)
	}
	return f, err
}
