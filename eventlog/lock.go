package eventlog

import (
	"errors"
	"fmt"
	"os"

	"github.com/pgtriage/pgtriage/internal/filelock"
)

// lock takes the log for this process alone: two writers would interleave their lines and cut each other's torn
// lines, so one watch writes a log. The lock goes with the file when the process ends, however it ends.
func lock(f *os.File, path string) error {
	if err := filelock.TryLock(f); err != nil {
		if errors.Is(err, filelock.ErrLocked) {
			return fmt.Errorf("%s is being written by another pgtriage watch", path)
		}
		return fmt.Errorf("%s: lock: %w", path, err)
	}
	return nil
}
