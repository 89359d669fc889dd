package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// chatPoll is a lean chat connection over Engine.IO v4 HTTP long-polling:
// a handshake GET, then one long-poll GET at a time on a goroutine of its
// own, and a POST for every packet sent (one at a time, as Engine.IO
// wants). Payloads hold packets separated by the record separator 0x1e;
// pings are answered with pongs.
type chatPoll struct {
	*chatSession
	hc     *http.Client
	url    string // the polling URL with the session id
	cookie string

	pmu    sync.Mutex // one POST at a time
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// dialChatPoll connects a chat session over long-polling with the given
// Cookie header value.
func dialChatPoll(ctx context.Context, tr *http.Transport, base *url.URL, cookie string, s *chatSession) (*chatPoll, error) {
	path := base.Path
	if path == "" || path == "/" {
		path = "/socket.io/"
	}
	u := "http://" + base.Host + path + "?EIO=4&transport=polling"
	c := &chatPoll{chatSession: s, hc: &http.Client{Transport: tr}, cookie: cookie, done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	body, err := c.get(ctx, u)
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("polling handshake: %w", err)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if len(body) < 2 || body[0] != '0' || json.Unmarshal(body[1:], &open) != nil || open.SID == "" {
		c.cancel()
		return nil, fmt.Errorf("polling handshake: unexpected answer %.100q", body)
	}
	c.url = u + "&sid=" + url.QueryEscape(open.SID)
	s.send = c.post
	go c.pollLoop()
	if err := s.start(); err == nil {
		err = s.wait(ctx, c.done)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// get performs one GET and returns its body.
func (c *chatPoll) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: %s: %.100q", resp.Status, body)
	}
	return body, nil
}

// post sends one packet.
func (c *chatPoll) post(p []byte) error {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", c.url, bytes.NewReader(p))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST: %s", resp.Status)
	}
	return nil
}

// pollLoop long-polls until the session or the connection ends.
func (c *chatPoll) pollLoop() {
	defer close(c.done)
	for {
		body, err := c.get(c.ctx, c.url)
		if err != nil {
			return
		}
		for len(body) > 0 {
			p := body
			if i := bytes.IndexByte(body, 0x1e); i >= 0 {
				p, body = body[:i], body[i+1:]
			} else {
				body = nil
			}
			if c.packet(p) != nil {
				return
			}
		}
	}
}

// packet acts on one Engine.IO packet.
func (c *chatPoll) packet(p []byte) error {
	switch {
	case len(p) == 0:
	case p[0] == '2': // ping
		return c.post([]byte("3"))
	case p[0] == '1': // close
		return io.EOF
	case p[0] == '6': // noop
	case p[0] == '4':
		return c.handle(p)
	case p[0] == 'b':
		return errors.New("polling: binary packet")
	}
	return nil
}

// Emit sends newMsg2Server with arg as its text; room is the session's.
func (c *chatPoll) Emit(_ string, arg []byte) error { return c.emit(arg) }

// Close ends the Engine.IO session (a close packet, best effort) and the
// long-poll, and waits for the poller.
func (c *chatPoll) Close() error {
	select {
	case <-c.done:
	default:
		if c.url != "" {
			_ = c.post([]byte("1"))
		}
	}
	c.cancel()
	if c.url != "" {
		<-c.done
	}
	return nil
}

// Done is closed when the session has ended.
func (c *chatPoll) Done() <-chan struct{} { return c.done }
