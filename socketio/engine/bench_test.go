package engine

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// nopHandler ignores everything.
type nopHandler struct{}

func (nopHandler) OnOpen(*Session) Conn             { return nopHandler{} }
func (nopHandler) OnMessage(*Session, []byte, bool) {}
func (nopHandler) OnClose(*Session, Reason)         {}

// BenchmarkSendFramePolling queues one shared frame on 10,000 polling
// sessions per iteration (no network: the cost of the fan-out itself).
func BenchmarkSendFramePolling(b *testing.B) {
	srv := NewServer(nopHandler{}, &Options{PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueuedBytes: 1 << 30})
	req := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil)
	sessions := make([]*Session, 10000)
	for i := range sessions {
		sessions[i] = srv.register(req, TransportPolling, reqQuery{})
		srv.open(sessions[i], nil)
	}
	f := NewFrame([]byte(`42["message",{"text":"hello everyone"}]`), false)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, s := range sessions {
			s.SendFrame(f)
		}
		if n++; n%16 == 0 { // as if each session's client had polled
			b.StopTimer()
			for _, s := range sessions {
				s.mu.Lock()
				s.takePayloadLocked()
				s.mu.Unlock()
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
}

// BenchmarkBroadcastWebSocket sends one shared frame to 200 WebSocket
// sessions per iteration and waits until every client has read it.
func BenchmarkBroadcastWebSocket(b *testing.B) {
	const clients = 200
	srv := NewServer(nopHandler{}, &Options{PingInterval: time.Hour, PingTimeout: time.Hour})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/?EIO=4&transport=websocket"
	var wg sync.WaitGroup
	var sessions []*Session
	var conns []*websocket.Conn
	for range clients {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, m, err := c.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		sid := m[len(`0{"sid":"`):][:20]
		sessions = append(sessions, srv.Session(string(sid)))
		conns = append(conns, c)
	}
	f := NewFrame([]byte(`42["message",{"text":"hello everyone"}]`), false)
	b.ReportAllocs()
	for b.Loop() {
		wg.Add(clients)
		for _, c := range conns {
			go func() {
				defer wg.Done()
				if _, _, err := c.ReadMessage(); err != nil {
					b.Error(err)
				}
			}()
		}
		for _, s := range sessions {
			s.SendFrame(f)
		}
		wg.Wait()
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
	for _, c := range conns {
		c.Close()
	}
}

// countSink counts the messages a frameParser hands over.
type countSink struct{ n int }

func (c *countSink) message(byte, []byte) bool { c.n++; return true }
func (c *countSink) control(byte, []byte) bool { return true }

// BenchmarkFrameParser parses a read's worth of masked client text frames
// (Socket.IO events of 60 bytes) per iteration: the reader's hot path
// without the network.
func BenchmarkFrameParser(b *testing.B) {
	msg := []byte(`42["message",{"text":"hello everyone, how is it going?"}]`)
	var stream []byte
	for len(stream) < readBufSize-100 {
		stream = append(stream, clientFrame(true, opText, msg)...)
	}
	work := make([]byte, len(stream))
	p := &frameParser{max: 1e6}
	sink := &countSink{}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, stream) // the parser unmasks in place
		if _, _, _, err := p.parse(work, sink); err != nil {
			b.Fatal(err)
		}
	}
}
