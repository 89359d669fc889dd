package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The chat protocol (-proto chat) of docs/protocol.md: accounts over HTTP,
// then namespace /user, joinRoom (with an ack, then historyUpdate),
// newMsg2Server (with an ack) and comPeRoom.

// accountPassword is the password of every benchmark account.
const accountPassword = "chatbench-password"

// accountName is the name of benchmark account i.
func accountName(prefix string, i int) string { return prefix + strconv.Itoa(i) }

// setupAccounts signs up (or, when the name is taken, logs in) k accounts
// named prefix0 ... prefix(k-1) over HTTP and returns the Cookie header
// value of each one's session, with up to par requests in flight.
func setupAccounts(ctx context.Context, base string, prefix string, k, par int) ([]string, error) {
	hc := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: par, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       60 * time.Second,
	}
	defer hc.CloseIdleConnections()
	cookies := make([]string, k)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range min(par, k) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= k || ctx.Err() != nil {
					return
				}
				c, err := account(ctx, hc, base, accountName(prefix, i))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					cancel()
					return
				}
				cookies[i] = c
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return cookies, firstErr
}

// account signs up name, or logs it in when sign-up fails (the name is
// taken), and returns its session cookies as a Cookie header value.
func account(ctx context.Context, hc *http.Client, base, name string) (string, error) {
	var failure string
	for _, path := range []string{"/signup", "/login"} {
		form := url.Values{"username": {name}, "password": {accountPassword}}
		req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(base, "/")+path, strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("account %s: %w", name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther && len(resp.Cookies()) > 0 {
			var pairs []string
			for _, c := range resp.Cookies() {
				pairs = append(pairs, c.Name+"="+c.Value)
			}
			return strings.Join(pairs, "; "), nil
		}
		failure += fmt.Sprintf(" %s: %s;", path, resp.Status)
	}
	return "", fmt.Errorf("account %s:%s", name, strings.TrimSuffix(failure, ";"))
}

// chatSession is the chat protocol of one connection over either
// transport: it connects the namespace, joins the room, and then counts
// the acknowledgements of its messages and passes the text of every
// comPeRoom to onMsg. Packets reach it on the transport's reader
// goroutine; send may be called from any goroutine.
type chatSession struct {
	nsp         string // "/user"
	room        string
	waitHistory bool // ready once historyUpdate arrives, not the join ack
	onMsg       func(text []byte)
	send        func(p []byte) error

	prefix  []byte // "42/user,"
	ackPref []byte // "43/user,"

	ackID  atomic.Uint64 // the id of the last message sent; 0 is the join
	acked  atomic.Int64
	failed atomic.Int64

	readyOnce sync.Once
	ready     chan error // one value: nil once joined, or why not
	joined    bool       // the join ack arrived (reader goroutine only)
}

func newChatSession(nsp, room string, waitHistory bool, onMsg func([]byte)) *chatSession {
	return &chatSession{nsp: nsp, room: room, waitHistory: waitHistory, onMsg: onMsg,
		prefix: []byte("42" + nsp + ","), ackPref: []byte("43" + nsp + ","), ready: make(chan error, 1)}
}

// signal reports the outcome of the handshake once.
func (s *chatSession) signal(err error) {
	s.readyOnce.Do(func() { s.ready <- err })
}

// start sends the namespace CONNECT.
func (s *chatSession) start() error { return s.send([]byte("40" + s.nsp + ",")) }

// wait waits for the join (and history) or ctx.
func (s *chatSession) wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case err := <-s.ready:
		return err
	case <-done:
		select {
		case err := <-s.ready:
			return err
		default:
		}
		return errors.New("connection closed during the handshake")
	case <-ctx.Done():
		return ctx.Err()
	}
}

var (
	comPeRoomPrefix = []byte(`["comPeRoom",`)
	historyPrefix   = []byte(`["historyUpdate",`)
	textKey         = []byte(`"text":"`)
	errorKey        = []byte(`"error"`)
)

// handle acts on one Socket.IO packet (pings and close are the
// transport's).
func (s *chatSession) handle(p []byte) error {
	switch {
	case bytes.HasPrefix(p, s.prefix):
		ev := p[len(s.prefix):]
		switch {
		case bytes.HasPrefix(ev, comPeRoomPrefix):
			if s.onMsg == nil {
				return nil
			}
			if i := bytes.Index(ev, textKey); i >= 0 {
				t := ev[i+len(textKey):]
				if j := bytes.IndexByte(t, '"'); j >= 0 {
					s.onMsg(t[:j])
				}
			}
		case bytes.HasPrefix(ev, historyPrefix):
			if s.joined {
				s.signal(nil)
			}
		}
	case bytes.HasPrefix(p, s.ackPref):
		rest := p[len(s.ackPref):]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		id, _ := strconv.ParseUint(string(rest[:i]), 10, 64)
		failed := bytes.Contains(rest[i:], errorKey)
		if id == 0 {
			if failed {
				s.signal(fmt.Errorf("joinRoom: %s", rest[i:]))
				return nil
			}
			s.joined = true
			if !s.waitHistory {
				s.signal(nil)
			}
			return nil
		}
		if failed {
			s.failed.Add(1)
		} else {
			s.acked.Add(1)
		}
	case bytes.HasPrefix(p, []byte("40"+s.nsp+",")):
		return s.send([]byte("42" + s.nsp + `,0["joinRoom",` + quote(s.room) + `]`))
	case bytes.HasPrefix(p, []byte("44"+s.nsp+",")):
		s.signal(fmt.Errorf("connect_error: %s", p[len(s.nsp)+3:]))
		return io.EOF
	case bytes.HasPrefix(p, []byte("41"+s.nsp+",")):
		return io.EOF
	}
	return nil
}

// emit sends newMsg2Server with text (which must need no JSON escaping)
// and an ack id.
func (s *chatSession) emit(text []byte) error {
	id := s.ackID.Add(1)
	b := make([]byte, 0, len(text)+48)
	b = append(b, s.prefix...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `["newMsg2Server",{"text":"`...)
	b = append(b, text...)
	b = append(b, `"}]`...)
	return s.send(b)
}

// Acks returns the acknowledgements received: successes and errors.
func (s *chatSession) Acks() (ok, failed int64) { return s.acked.Load(), s.failed.Load() }

// acker is a connection whose messages are acknowledged.
type acker interface {
	Acks() (ok, failed int64)
}

// chatWS is a chat connection over the raw WebSocket client.
type chatWS struct {
	*chatSession
	ws *rawConn
}

// dialChatWS connects a chat session over WebSocket with the given Cookie
// header value.
func dialChatWS(ctx context.Context, base *url.URL, cookie string, s *chatSession) (*chatWS, error) {
	hdr := ""
	if cookie != "" {
		hdr = "Cookie: " + cookie + "\r\n"
	}
	ws, err := dialWS(ctx, base, hdr)
	if err != nil {
		return nil, err
	}
	s.send = ws.writeText
	ws.onPacket = s.handle
	go ws.readLoop()
	if err := s.start(); err == nil {
		err = s.wait(ctx, ws.done)
	}
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	_ = ws.conn.SetDeadline(time.Time{})
	return &chatWS{chatSession: s, ws: ws}, nil
}

// Emit sends newMsg2Server with arg as its text; room is the session's.
func (c *chatWS) Emit(_ string, arg []byte) error { return c.emit(arg) }

// Close closes the connection and waits for its reader.
func (c *chatWS) Close() error { return c.ws.Close() }

// Done is closed when the connection has ended.
func (c *chatWS) Done() <-chan struct{} { return c.ws.done }

// chatDialer dials chat connections: connection i uses account i mod K,
// and the last `polling` of n connections use HTTP long-polling.
type chatDialer struct {
	base        atomic.Pointer[url.URL] // changes when a restarted server moves
	nsp, room   string
	cookies     []string
	n, polling  int
	waitHistory bool
	onMsg       func([]byte)
	tr          *http.Transport // of the polling connections
}

func newChatDialer(cfg *config, base *url.URL, cookies []string, onMsg func([]byte)) *chatDialer {
	d := &chatDialer{nsp: cfg.nsp, room: cfg.room, cookies: cookies, n: cfg.n, polling: cfg.polling, onMsg: onMsg}
	d.base.Store(base)
	if cfg.polling > 0 {
		d.tr = &http.Transport{MaxIdleConnsPerHost: 2*cfg.polling + 4, DisableCompression: true}
	}
	return d
}

// dial opens connection i.
func (d *chatDialer) dial(ctx context.Context, i int) (loadConn, error) {
	s := newChatSession(d.nsp, d.room, d.waitHistory, d.onMsg)
	cookie := ""
	if len(d.cookies) > 0 {
		cookie = d.cookies[i%len(d.cookies)]
	}
	if i >= d.n-d.polling {
		return dialChatPoll(ctx, d.tr, d.base.Load(), cookie, s)
	}
	return dialChatWS(ctx, d.base.Load(), cookie, s)
}

// close releases the idle HTTP connections of the polling clients.
func (d *chatDialer) close() {
	if d.tr != nil {
		d.tr.CloseIdleConnections()
	}
}

// chatMessage returns the text of a chat benchmark message: its send time
// (nanoseconds since the start of the run), a space, its sender, a space,
// and size bytes of text.
func chatMessage(sent time.Duration, sender, size int) []byte {
	b := make([]byte, 0, 32+size)
	b = strconv.AppendInt(b, int64(sent), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(sender), 10)
	b = append(b, ' ')
	b = append(b, strings.Repeat("x", size)...)
	return b
}

// chatSendTime extracts the send time of a text made by chatMessage.
func chatSendTime(p []byte) (time.Duration, bool) {
	var v int64
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		v = v*10 + int64(p[i]-'0')
	}
	if i == 0 || i >= len(p) || p[i] != ' ' {
		return 0, false
	}
	return time.Duration(v), true
}
