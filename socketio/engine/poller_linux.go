package engine

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/socketio/internal/workers"
)

// poller tells which idle WebSocket connections have become readable, so
// that an idle connection needs no goroutine. It is an epoll instance
// holding the connections' descriptors (registered one-shot: a connection
// reports once, then is re-armed when its reader is done), itself watched by
// the Go runtime's network poller like any other descriptor: the goroutine
// running the poller is parked, not blocked in a system call. That
// goroutine runs only while connections are registered: the last one to
// leave wakes it (through an eventfd) and it exits; the next registration
// starts it again.
type poller struct {
	epfd int
	evfd int // eventfd in the epoll set under key wakeKey
	raw  syscall.RawConn
	file *os.File // keeps epfd open; never closed (the poller lives as long as the process)

	mu      sync.Mutex
	conns   map[uint64]*wsConn
	next    uint64
	running bool // a goroutine runs the loop
}

// wakeKey is the epoll key of the eventfd; connection keys start at 1.
const wakeKey = 0

// pollEvents are the events a connection is armed for.
const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

var (
	thePoller     *poller
	thePollerOnce sync.Once
)

// getPoller returns the process-wide poller, or nil when it cannot be
// created (the caller then reads with a goroutine per connection).
func getPoller() *poller {
	thePollerOnce.Do(func() {
		if p, err := newPoller(); err == nil {
			thePoller = p
		}
	})
	return thePoller
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN} // level-triggered, until read
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		_ = unix.Close(evfd)
		_ = unix.Close(epfd)
		return nil, err
	}
	// A non-blocking descriptor given to os.NewFile joins the runtime's
	// network poller, so the RawConn's Read waits without a thread.
	f := os.NewFile(uintptr(epfd), "engine.io-poller")
	raw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		_ = unix.Close(evfd)
		return nil, err
	}
	return &poller{epfd: epfd, evfd: evfd, raw: raw, file: f, conns: make(map[uint64]*wsConn)}, nil
}

// run dispatches readiness events until no connection is registered:
// each readable connection gets a goroutine that reads what has arrived,
// then re-arms the connection.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 256)
	ready := make([]*wsConn, 0, len(events))
	var buf [8]byte
	for {
		done := false
		err := p.raw.Read(func(uintptr) bool {
			for {
				n, err := unix.EpollWait(p.epfd, events, 0)
				if err == unix.EINTR {
					continue
				}
				if err != nil || n <= 0 {
					p.mu.Lock()
					if len(p.conns) == 0 {
						p.running = false
						done = true
					}
					p.mu.Unlock()
					// Nothing ready: wait until the runtime reports the
					// epoll descriptor readable.
					return done
				}
				ready = ready[:0]
				p.mu.Lock()
				for _, ev := range events[:n] {
					key := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
					if key == wakeKey {
						_, _ = unix.Read(p.evfd, buf[:])
					} else if c := p.conns[key]; c != nil {
						ready = append(ready, c)
					}
				}
				p.mu.Unlock()
				for i, c := range ready {
					workers.Go(c.readReady)
					ready[i] = nil
				}
			}
		})
		if err != nil || done {
			return
		}
	}
}

// pollHandle is a connection's registration with the poller.
type pollHandle struct {
	p   *poller
	key uint64
}

// rawConnOf returns the descriptor access of a plain TCP connection, nil
// for any other.
func rawConnOf(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// iovec is one entry of a writev vector.
type iovec = unix.Iovec

// maxIovecs is the most buffers one writev takes (IOV_MAX).
const maxIovecs = 1024

// vecWriter makes writev calls for a writer. It lives in the writer's
// pooled scratch, so that a call allocates nothing: the vector is reused
// and the callback handed to RawConn.Write is bound once.
type vecWriter struct {
	iov   []iovec
	n     uintptr
	errno syscall.Errno
	fn    func(fd uintptr) bool // v.call
}

// call is the RawConn.Write callback: one writev of v.iov; false asks to
// wait for writability.
func (v *vecWriter) call(fd uintptr) bool {
	for {
		v.n, _, v.errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v.iov[0])), uintptr(len(v.iov)))
		if v.errno != syscall.EINTR {
			return v.errno != syscall.EAGAIN
		}
	}
}

// writev writes all of bufs with writev(2), waiting for the socket to be
// writable (within its write deadline) as net.Conn.Write does. It leaves
// no pointer to bufs in v, and changes the slice headers of bufs.
func (v *vecWriter) writev(raw syscall.RawConn, bufs [][]byte) error {
	if v.fn == nil {
		v.fn = v.call
	}
	err := v.writeAll(raw, bufs)
	clear(v.iov[:cap(v.iov)])
	return err
}

func (v *vecWriter) writeAll(raw syscall.RawConn, bufs [][]byte) error {
	for {
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			return nil
		}
		v.iov = v.iov[:0]
		for _, b := range bufs {
			if len(v.iov) == maxIovecs {
				break
			}
			if len(b) > 0 {
				e := iovec{Base: &b[0]}
				e.SetLen(len(b))
				v.iov = append(v.iov, e)
			}
		}
		if err := raw.Write(v.fn); err != nil {
			return err
		}
		if v.errno != 0 {
			return v.errno
		}
		for n := v.n; n > 0; {
			if l := uintptr(len(bufs[0])); l <= n {
				n -= l
				bufs = bufs[1:]
			} else {
				bufs[0] = bufs[0][n:]
				n = 0
			}
		}
	}
}

// errNoPoller means the connection must be read by a goroutine.
var errNoPoller = errors.New("engine: no readiness poller for this connection")

// register adds c's connection to the poller's table. The connection gets
// no event until arm is called.
func (p *poller) register(c *wsConn, raw syscall.RawConn) (*pollHandle, error) {
	if raw == nil {
		return nil, errNoPoller
	}
	p.mu.Lock()
	p.next++
	key := p.next
	p.conns[key] = c
	if !p.running {
		p.running = true
		go p.run()
	}
	p.mu.Unlock()
	return &pollHandle{p: p, key: key}, nil
}

// arm adds the connection to the epoll set, for one event.
func (h *pollHandle) arm(raw syscall.RawConn) error { return h.ctl(raw, unix.EPOLL_CTL_ADD) }

// ctl adds or re-arms the connection. The descriptor is used inside
// RawConn.Control, so it cannot be closed (and reused) meanwhile.
func (h *pollHandle) ctl(raw syscall.RawConn, op int) error {
	var cerr error
	err := raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: pollEvents, Fd: int32(uint32(h.key)), Pad: int32(uint32(h.key >> 32))}
		cerr = unix.EpollCtl(h.p.epfd, op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	return cerr
}

// rearm asks for the next readiness event of the connection.
func (h *pollHandle) rearm(raw syscall.RawConn) error { return h.ctl(raw, unix.EPOLL_CTL_MOD) }

// unregister forgets the connection. Closing the descriptor removes it from
// the epoll set; an event already taken for it finds no connection.
func (h *pollHandle) unregister() {
	p := h.p
	p.mu.Lock()
	_, ok := p.conns[h.key]
	delete(p.conns, h.key)
	wake := ok && len(p.conns) == 0 && p.running
	p.mu.Unlock()
	if wake {
		// The poller exits once it sees no connection left.
		one := [8]byte{1}
		_, _ = unix.Write(p.evfd, one[:])
	}
}

// readNonblock reads what the connection has without waiting: it returns
// errWouldBlock when nothing is there, io.EOF-like errors as they come.
func readNonblock(raw syscall.RawConn, b []byte) (int, error) {
	var n int
	var rerr error
	err := raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), b)
			if rerr != unix.EINTR {
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	switch {
	case rerr == unix.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
