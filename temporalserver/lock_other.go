//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package temporalserver

// lockDataDir does nothing on systems without flock: there, nothing stops two
// servers from sharing a DataDir (see lock_flock.go for why that is bad).
func lockDataDir(string) (func(), error) { return func() {}, nil }
