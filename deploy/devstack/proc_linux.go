package devstack

import (
	"fmt"
	"os"
	"syscall"
)

// serverProcAttr puts a server in its own process group, so a Ctrl-C in the terminal
// reaches only our process, which then stops workers before the server in an orderly
// way; Pdeathsig still interrupts the server if our process dies without stopping it,
// so no orphan keeps the ports and the data directory.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
}

// lockFile takes an exclusive lock on path, waiting for it, and returns the release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
