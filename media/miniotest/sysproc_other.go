//go:build !linux

package miniotest

import "syscall"

// dieWithParent has no Pdeathsig to use outside Linux: there the server outlives the test process, and
// the next run's sweep cannot remove its data directory while it runs. The project's tests run on Linux.
func dieWithParent() *syscall.SysProcAttr { return nil }
