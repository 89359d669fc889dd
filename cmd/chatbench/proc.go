package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ,
// 100 on Linux for every common architecture).
const clockTicks = 100

// procSample is a reading of a process's CPU time and memory.
type procSample struct {
	at  time.Time
	cpu time.Duration // user + system
	rss int64         // bytes
}

// readProc reads /proc/PID/stat and /proc/PID/status.
func readProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	cpu, err := parseStatCPU(string(stat))
	if err != nil {
		return s, err
	}
	s.cpu = cpu
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.rss, err = parseStatusRSS(string(status))
	return s, err
}

// parseStatCPU returns utime+stime of a /proc/PID/stat line.
func parseStatCPU(stat string) (time.Duration, error) {
	// The command name (field 2) may contain spaces; fields resume after
	// its closing parenthesis, with field 3 (state) first.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat")
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseStatusRSS returns VmRSS of a /proc/PID/status text in bytes.
func parseStatusRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// cpuShare is the CPU time a process used between two samples as a
// fraction of the wall time (1.0 is one core fully busy).
func cpuShare(a, b procSample) float64 {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return 0
	}
	return float64(b.cpu-a.cpu) / float64(wall)
}

// serverStats is what a benchmark server reports at /stats: memory of its
// runtime's heap and, for information, its own view of RSS.
type serverStats struct {
	Runtime    string `json:"runtime"`
	HeapBytes  int64  `json:"heapBytes"`
	StackBytes int64  `json:"stackBytes,omitempty"`
	RSS        int64  `json:"rss"`
	Sockets    int    `json:"sockets"`
	Goroutines int    `json:"goroutines,omitempty"`
}

// fetchStats reads base/stats (after a garbage collection when gc is set).
// It reports ok=false when the server has no such endpoint.
func fetchStats(ctx context.Context, base string, gc bool) (serverStats, bool) {
	var st serverStats
	u := strings.TrimSuffix(base, "/") + "/stats"
	if gc {
		u += "?gc=1"
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return st, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return st, false
	}
	return st, true
}

// serverProc is a server process started by chatbench.
type serverProc struct {
	cmd      *exec.Cmd
	url      string
	listenAt time.Time // when the "listening on" line was read
	done     chan struct{}
}

// startServer runs command (split on white space, no shell) and waits up
// to timeout for it to print a line "listening on http://HOST:PORT".
// Prefix the command with "taskset -c CPU" to pin it: taskset executes the
// server in its own process, so the PID is the server's.
func startServer(command string, timeout time.Duration, stderr io.Writer) (*serverProc, error) {
	args := strings.Fields(command)
	if len(args) == 0 {
		return nil, errors.New("empty server command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, done: make(chan struct{})}
	type listening struct {
		url string
		at  time.Time
	}
	found := make(chan listening, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), "listening on "); ok {
				select {
				case found <- listening{strings.TrimSpace(after), time.Now()}:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case l := <-found:
		p.url, p.listenAt = l.url, l.at
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("server exited before listening: %v", cmd.ProcessState)
	case <-time.After(timeout):
		p.stop()
		return nil, errors.New("server did not print its address in time")
	}
}

// pid returns the server's process id.
func (p *serverProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM to the server, and SIGKILL if it has not exited
// within 5 seconds, then waits for it.
func (p *serverProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// machineBusy returns the CPU time all processors of the machine spent
// busy (everything but idle and iowait) from the "cpu" line of /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineBusy(string(b))
}

// parseMachineBusy parses the "cpu" line of a /proc/stat text.
func parseMachineBusy(stat string) (time.Duration, error) {
	for line := range strings.Lines(stat) {
		rest, ok := strings.CutPrefix(line, "cpu ")
		if !ok {
			continue
		}
		var busy int64
		for i, f := range strings.Fields(rest) {
			if i >= 8 { // guest time is already counted in user time
				break
			}
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return 0, err
			}
			if i != 3 && i != 4 { // idle, iowait
				busy += v
			}
		}
		return time.Duration(busy) * time.Second / clockTicks, nil
	}
	return 0, errors.New("no cpu line in /proc/stat")
}

// otherCPU is the CPU share of everything on the machine except the server
// and the load between two points, given the machine's busy time and the
// two processes' samples at both points. A value well above zero means
// other work disturbed the measurement.
func otherCPU(busy0, busy1 time.Duration, server0, server1, load0, load1 procSample) float64 {
	wall := load1.at.Sub(load0.at)
	if wall <= 0 {
		return 0
	}
	other := (busy1 - busy0) - (server1.cpu - server0.cpu) - (load1.cpu - load0.cpu)
	return max(0, float64(other)/float64(wall))
}
