//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package temporalserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// lockDataDir takes an exclusive lock on DataDir/temporal.lock, so that a
// second server (another process, or another Start in this one: flock locks
// belong to the open file) cannot use the same SQLite file. That matters
// beyond SQLite's own locking: Start clears the cluster membership rows,
// which would cut a running server off from its own services. The returned
// function releases the lock; it may be called more than once.
func lockDataDir(dir string) (func(), error) {
	path := filepath.Join(dir, "temporal.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("temporalserver: %s is in use by another Temporal server", dir)
		}
		return nil, fmt.Errorf("temporalserver: lock %s: %w", path, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}
