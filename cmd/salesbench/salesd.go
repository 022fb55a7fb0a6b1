package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/salesapp/scrm/backend/platform/pgcluster"
)

const (
	// readyPoll is how often /readyz is polled; it bounds how much the startup time is overstated.
	readyPoll = 2 * time.Millisecond
	// readyTimeout bounds the wait for a salesd to become ready.
	readyTimeout = 30 * time.Second
	// stopTimeout is how long salesd gets to drain after SIGTERM before it is killed.
	stopTimeout = 30 * time.Second
)

// salesdProc is one running salesd subprocess.
type salesdProc struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	// debugAddr serves salesd's profiler; profile is how long to record a CPU profile (-profile).
	debugAddr string
	profile   time.Duration
	// started is taken just before the process is started: startup time counts from here.
	started time.Time
	// done closes when the process has exited; waitErr is cmd.Wait's result.
	done    chan struct{}
	waitErr error
}

// start runs salesd on a free 127.0.0.1 port with the benchmark configuration and extra (KEY=value), its
// output going to a log file named after label.
func (b *bench) start(label string, extra ...string) (*salesdProc, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	b.starts++
	s := &salesdProc{
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		logPath: filepath.Join(b.logDir, fmt.Sprintf("salesd-%02d-%s.log", b.starts, label)),
		done:    make(chan struct{}),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	// The child gets its own copy of the descriptor; ours is not needed once it has started.
	defer logFile.Close()
	s.cmd = exec.Command(b.opts.salesd)
	s.cmd.Env = append(b.environ(s.addr), extra...)
	// Every salesd serves its profiler, for -profile and for scenarios that read its memory statistics.
	dport, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	s.debugAddr, s.profile = net.JoinHostPort("127.0.0.1", strconv.Itoa(dport)), b.opts.profile
	s.cmd.Env = append(s.cmd.Env, "SALESD_DEBUG_ADDR="+s.debugAddr)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start salesd: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// startReady starts salesd as start does and waits until it is ready; the caller stops it.
func (b *bench) startReady(ctx context.Context, label string, extra ...string) (*salesdProc, error) {
	s, err := b.start(label, extra...)
	if err != nil {
		return nil, err
	}
	if _, err := s.waitReady(ctx); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// environ is salesd's environment: ours without any SALESD_* variable (so neither the superuser URL nor a
// developer's own settings leak in), plus the benchmark configuration. The rest passes through, so
// GOMAXPROCS or GOGC can be set for an experiment.
func (b *bench) environ(addr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SALESD_") {
			env = append(env, kv)
		}
	}
	for k, v := range b.env {
		env = append(env, k+"="+v)
	}
	// The embedded object store (development's) listens on a port of its own for each start.
	s3Port, _ := pgcluster.FreePort()
	return append(env, "SALESD_HTTP_ADDR="+addr, "SALESD_EMBEDDED_S3_ADDR=127.0.0.1:"+strconv.Itoa(s3Port),
		"SALESD_DATA_DIR="+b.logDir, "SALESD_DEV=true")
}

// waitReady polls GET /readyz until it answers 200 and returns the time since the process was started.
func (s *salesdProc) waitReady(ctx context.Context) (time.Duration, error) {
	// A fresh connection per poll: the first ones are refused until salesd listens.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + s.addr + "/readyz"
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	deadline := time.Now().Add(readyTimeout)
	var last error
	for n := 0; n <= int(readyTimeout/readyPoll); n++ {
		if last = s.ready(ctx, client, url); last == nil {
			took := time.Since(s.started)
			if s.profile > 0 {
				go s.recordProfile()
			}
			return took, nil
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-s.done:
			return 0, fmt.Errorf("salesd exited before it was ready (%v):\n%s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
	return 0, fmt.Errorf("salesd not ready after %s: %v\n%s", readyTimeout, last, s.logTail())
}

// goMemory is the Go heap and goroutine stacks salesd has in use, after a collection it asks for.
func (s *salesdProc) goMemory() (int64, error) {
	resp, err := http.Get("http://" + s.debugAddr + "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	// The text profile ends with runtime.MemStats as "# HeapInuse = N" and "# Stack = INUSE / SYS".
	var heap, stack int64
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# HeapInuse = "); ok {
			heap, err = strconv.ParseInt(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# Stack = "); ok {
			stack, err = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
		if err != nil {
			return 0, fmt.Errorf("salesd memory statistics: %w", err)
		}
	}
	if heap == 0 {
		return 0, errors.New("salesd memory statistics: no HeapInuse")
	}
	return heap + stack, nil
}

// recordProfile saves a CPU profile of the next s.profile beside the process's log (salesd-….pprof),
// for `go tool pprof`. A failure is written there instead: the profile is an aid, not a result.
func (s *salesdProc) recordProfile() {
	out := strings.TrimSuffix(s.logPath, ".log") + ".pprof"
	client := &http.Client{Timeout: s.profile + 30*time.Second}
	resp, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.debugAddr, int(s.profile.Seconds()+0.5)))
	if err == nil {
		defer resp.Body.Close()
		var f *os.File
		if f, err = os.Create(out); err == nil {
			_, err = io.Copy(f, resp.Body)
			err = errors.Join(err, f.Close())
		}
	}
	if err != nil {
		_ = os.WriteFile(out+".error", []byte(err.Error()+"\n"), 0o644)
	}
}

func (s *salesdProc) ready(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// stop sends SIGTERM, as an orchestrator would, and waits for salesd to drain and exit (killing it after
// stopTimeout). It reports an exit other than a clean one. Calling it again reports the same outcome.
func (s *salesdProc) stop() error {
	select {
	case <-s.done:
	default:
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		select {
		case <-s.done:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
			return fmt.Errorf("salesd did not exit within %s of SIGTERM and was killed", stopTimeout)
		}
	}
	if s.waitErr != nil {
		return fmt.Errorf("salesd: %w\n%s", s.waitErr, s.logTail())
	}
	return nil
}

// logTail is the end of salesd's log, for error messages.
func (s *salesdProc) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	const tailBytes = 2048
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	return string(bytes.TrimSpace(b))
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. The kernel fixes it at 100 for
// user space on every architecture Go runs on, whatever the scheduler's HZ (it is what
// sysconf(_SC_CLK_TCK) returns), so it is not looked up.
const clockTicks = 100

// processCPU is the user+system CPU time process pid has used so far, from /proc (Linux only), in
// 10 ms steps.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("server CPU time: %w", err)
	}
	_, cpu, err := parseStat(b)
	if err != nil {
		return 0, fmt.Errorf("server CPU time: /proc/%d/stat: %w", pid, err)
	}
	return cpu, nil
}

// parseStat reads a /proc/PID/stat line: the command name and the user+system CPU time.
func parseStat(b []byte) (comm string, cpu time.Duration, err error) {
	// Field 2, the command name, is in parentheses and may contain spaces and parentheses: count from
	// after the last ')'. There f[0] is field 3, so utime (field 14) is f[11] and stime (15) is f[12].
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, errors.New("unexpected format")
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return "", 0, errors.New("unexpected format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return "", 0, err
	}
	return string(b[open+1 : end]), time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// postgresCPU is the CPU time the machine's running PostgreSQL processes have used (the benchmark's
// server is the only one on a benchmark machine). Backends that exited took theirs with them, so only
// differences over a window in which the pool keeps its connections mean anything.
func postgresCPU() (time.Duration, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		if comm, cpu, err := parseStat(b); err == nil && comm == "postgres" {
			total += cpu
		}
	}
	return total, nil
}

// cpuMeter measures the CPU time salesd, PostgreSQL and salesbench itself use over a window.
type cpuMeter struct {
	pid            int
	salesd, pg, me time.Duration
}

// meterCPU starts a window for the salesd process s.
func meterCPU(s *salesdProc) (*cpuMeter, error) {
	m := &cpuMeter{pid: s.cmd.Process.Pid}
	var err error
	m.salesd, m.pg, m.me, err = m.read()
	return m, err
}

func (m *cpuMeter) read() (salesd, pg, me time.Duration, err error) {
	salesd, err1 := processCPU(m.pid)
	pg, err2 := postgresCPU()
	me, err3 := selfCPU()
	return salesd, pg, me, errors.Join(err1, err2, err3)
}

// rows ends the window and reports each process's CPU time per unit (n of them, named what).
func (m *cpuMeter) rows(n int64, what string) ([]row, error) {
	salesd, pg, me, err := m.read()
	if err != nil || n <= 0 {
		return nil, err
	}
	per := func(d time.Duration) string { return fmt.Sprintf("%d µs", (d / time.Duration(n)).Microseconds()) }
	return []row{
		{"salesd CPU per " + what, per(salesd - m.salesd), ""},
		{"PostgreSQL CPU per " + what, per(pg - m.pg), ""},
		{"salesbench CPU per " + what + " (load, fake APNs)", per(me - m.me), ""},
	}, nil
}

// selfCPU is the user+system CPU time this process (the load generator, not its children) has used.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("own CPU time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
