// Package filelock takes an exclusive, advisory lock on an open file without
// waiting, the same way on every platform: flock(2) on Unix (Linux, macOS,
// FreeBSD), LockFileEx on Windows. The lock goes with the file's
// descriptor: closing the file (or the process ending) releases it.
package filelock

import "errors"

// ErrLocked says another open file (in this or another process) holds the lock.
var ErrLocked = errors.New("locked by another process")
