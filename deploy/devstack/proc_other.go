//go:build !linux

package devstack

import "syscall"

// serverProcAttr leaves the server in our process group where Pdeathsig is missing: a
// Ctrl-C then reaches it directly, which is better than an orphan outliving us.
func serverProcAttr() *syscall.SysProcAttr { return nil }

// lockFile does not lock where flock is not available everywhere; parallel first-time
// installs of the Temporal CLI then just build twice.
func lockFile(string) (func(), error) { return func() {}, nil }
