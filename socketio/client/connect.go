package client

import (
	"context"
	"fmt"
	"net/url"
	"sync"
)

// managers holds the Managers that Connect may reuse, by server and path.
var managers struct {
	sync.Mutex
	byKey map[string]*Manager
}

func forgetManager(m *Manager) {
	managers.Lock()
	defer managers.Unlock()
	if m.cacheKey != "" && managers.byKey[m.cacheKey] == m {
		delete(managers.byKey, m.cacheKey)
	}
}

// Connect opens a Socket to the namespace named by the path of rawURL ("/"
// when the URL has no path): "http://localhost:3000/admin" connects to the
// namespace "/admin" of the server at localhost:3000. It returns at once;
// the connection is made in the background and reported to the Socket's
// connect and connect_error handlers, and events emitted meanwhile are
// buffered. Use Dial to wait for the connection.
//
// Like the official client, Connect reuses the Manager (and so the
// connection) of an earlier Connect to the same scheme, host and
// Options.Path, unless opts.ForceNew is set or that Manager already has an
// active Socket for the namespace; a reused Manager keeps the options it
// was created with (its URL query included: see Options.Query). The error
// reports an invalid URL or options only.
func Connect(rawURL string, opts *Options) (*Socket, error) {
	s, err := lookup(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s.Connect()
	return s, nil
}

// lookup finds or creates the Manager and the Socket for Connect, without
// connecting.
func lookup(rawURL string, opts *Options) (*Socket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("socket.io client: %w", err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	key := u.Scheme + "://" + u.Host + cfg.Path
	sopts := &SocketOptions{Auth: cfg.Auth, AuthFunc: cfg.AuthFunc, AckTimeout: cfg.AckTimeout, Retries: cfg.Retries}

	var m *Manager
	if !cfg.ForceNew {
		managers.Lock()
		m = managers.byKey[key]
		managers.Unlock()
		if m != nil {
			m.mu.Lock()
			closed := m.closed
			m.mu.Unlock()
			if closed || m.hasActiveSocket(nsp) {
				m = nil
			}
		}
	}
	if m == nil {
		m, err = newManager(u, cfg)
		if err != nil {
			return nil, err
		}
		if !cfg.ForceNew {
			managers.Lock()
			if managers.byKey == nil {
				managers.byKey = map[string]*Manager{}
			}
			if old := managers.byKey[key]; old == nil || old.isClosed() {
				m.cacheKey = key
				managers.byKey[key] = m
			}
			managers.Unlock()
		}
	}
	m.mu.Lock()
	s := m.nsps[nsp]
	if s == nil {
		s = newSocket(m, nsp, sopts)
		m.nsps[nsp] = s
	} else {
		s.mu.Lock()
		s.opts = *sopts
		s.mu.Unlock()
	}
	m.mu.Unlock()
	return s, nil
}

// Dial is Connect followed by a wait for the namespace connection: it
// returns the connected Socket, or the first *ConnectError (a refused
// CONNECT or a failed connection attempt) or ctx.Err(), after closing the
// Socket.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Socket, error) {
	s, err := lookup(rawURL, opts)
	if err != nil {
		return nil, err
	}
	ch := s.addWaiter()
	s.Connect()
	if err := s.waitConnect(ctx, ch); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}
