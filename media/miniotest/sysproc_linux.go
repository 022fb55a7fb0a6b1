package miniotest

import "syscall"

// dieWithParent makes the kernel kill the server when the test process ends.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
