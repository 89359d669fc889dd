//go:build !linux

package engine

import (
	"errors"
	"net"
	"syscall"
)

// poller is unavailable on this system: every WebSocket is read by a
// goroutine of its own.
type poller struct{}

type pollHandle struct{}

var errNoPoller = errors.New("engine: no readiness poller on this system")

func getPoller() *poller { return nil }

func (p *poller) register(*wsConn, syscall.RawConn) (*pollHandle, error) { return nil, errNoPoller }

// rawConnOf returns nil: the engine writes through net.Conn here.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// vecWriter is unused here: rawConnOf returns nil.
type vecWriter struct{}

func (v *vecWriter) writev(syscall.RawConn, [][]byte) error { return errNoPoller }

func (h *pollHandle) arm(syscall.RawConn) error { return errNoPoller }

func (h *pollHandle) rearm(syscall.RawConn) error { return errNoPoller }

func (h *pollHandle) unregister() {}

func readNonblock(syscall.RawConn, []byte) (int, error) { return 0, errNoPoller }
