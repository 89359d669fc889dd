package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chatMessage is a chat-sized Socket.IO event: 200 bytes of JSON.
var chatMessage = []byte(`2["message",{"id":"01HZX3K4Q8M2N7P5R6S9T0V1W2","room":"general","user":"alice","text":"Has anyone tried the new build yet? The deploy went fine here, the logs look clean too.","ts":1717171717171}]`)

// fanOutClient is a WebSocket client of the fan-out benchmark: it reads
// the server's frames without inflating them, counts their bytes on the
// wire, and marks each message done.
type fanOutClient struct {
	nc    net.Conn
	bytes atomic.Int64
}

// dialFanOut opens a raw WebSocket session on ts, offering
// permessage-deflate when offer is set, and reads its open packet.
func dialFanOut(tb testing.TB, ts *httptest.Server, offer bool) (*fanOutClient, *bufio.Reader) {
	nc, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	req := "GET /?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if offer {
		req += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	}
	if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReaderSize(nc, 512)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			tb.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	c := &fanOutClient{nc: nc}
	if _, _, err := c.readFrame(br); err != nil { // the open packet
		tb.Fatal(err)
	}
	return c, br
}

// readFrame reads one server frame and returns its RSV1 bit and payload.
func (c *fanOutClient) readFrame(br *bufio.Reader) (bool, []byte, error) {
	var h [10]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		return false, nil, err
	}
	n, hl := uint64(h[1]&0x7f), 2
	switch n {
	case 126:
		if _, err := io.ReadFull(br, h[2:4]); err != nil {
			return false, nil, err
		}
		n, hl = uint64(binary.BigEndian.Uint16(h[2:4])), 4
	case 127:
		if _, err := io.ReadFull(br, h[2:10]); err != nil {
			return false, nil, err
		}
		n, hl = binary.BigEndian.Uint64(h[2:10]), 10
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return false, nil, err
	}
	c.bytes.Add(int64(hl) + int64(n))
	return h[0]&0x40 != 0, p, nil
}

// BenchmarkDeflateFanOut sends a 200-byte chat message to 1,000 WebSocket
// sessions per iteration, as a broadcast does (one Frame queued on every
// session), and waits until every client has read it: without
// compression, with compression at the default threshold (1024 bytes:
// the message is not compressed), and with every message compressed
// (compressed once, the payload shared by the recipients). It reports
// the bytes each recipient read per message (wire-B/recipient).
func BenchmarkDeflateFanOut(b *testing.B) {
	const recipients = 1000
	for _, mode := range []struct {
		name string
		pmd  *PerMessageDeflate
	}{
		{"off", nil},
		{"threshold=1024", &PerMessageDeflate{}},
		{"threshold=0", &PerMessageDeflate{Threshold: -1}},
		{"threshold=0,level=1", &PerMessageDeflate{Threshold: -1, Level: 1}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			srv := NewServer(nopHandler{}, &Options{PingInterval: time.Hour, PingTimeout: time.Hour, PerMessageDeflate: mode.pmd})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			var wg sync.WaitGroup
			var active atomic.Bool // the benchmark loop is running: messages are counted
			clients := make([]*fanOutClient, recipients)
			var readers sync.WaitGroup
			for i := range clients {
				c, br := dialFanOut(b, ts, true)
				clients[i] = c
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						if _, _, err := c.readFrame(br); err != nil {
							return
						}
						if active.Load() {
							wg.Done()
						}
					}
				}()
			}
			sessions := make([]*Session, 0, recipients)
			for _, id := range sessionIDs(srv) {
				sessions = append(sessions, srv.Session(id))
			}
			var before int64
			for _, c := range clients {
				before += c.bytes.Load()
			}
			b.ReportAllocs()
			active.Store(true)
			for b.Loop() {
				wg.Add(recipients)
				f := NewFrame(chatMessage, false) // a broadcast encodes (and compresses) its frame once
				for _, s := range sessions {
					s.SendFrame(f)
				}
				wg.Wait()
			}
			active.Store(false)
			var after int64
			for _, c := range clients {
				after += c.bytes.Load()
			}
			b.ReportMetric(float64(after-before)/float64(recipients)/float64(b.N), "wire-B/recipient")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Close(ctx)
			for _, c := range clients {
				c.nc.Close()
			}
			readers.Wait()
		})
	}
}

// BenchmarkDeflateCompress is the cost of compressing one 200-byte chat
// message: what a broadcast pays once, and what compressing for every
// recipient (context takeover) would pay per recipient.
func BenchmarkDeflateCompress(b *testing.B) {
	for _, level := range []int{0, 1} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			c := newDeflateConfig(&PerMessageDeflate{Level: level})
			msg := append([]byte("4"), chatMessage...)
			z := c.compress(msg)
			b.ReportAllocs()
			for b.Loop() {
				c.compress(msg)
			}
			b.ReportMetric(float64(len(z)), "compressed-B")
			b.ReportMetric(float64(len(msg)), "raw-B")
		})
	}
}

// BenchmarkDeflateInflate is the cost of inflating one compressed
// 200-byte client message.
func BenchmarkDeflateInflate(b *testing.B) {
	z := deflateBytes(b, append([]byte("4"), chatMessage...))
	b.ReportAllocs()
	for b.Loop() {
		_, release, err := inflate(z, nil, 1e6)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// BenchmarkIdleWebSocketMemory reports the heap kept per idle WebSocket
// connection (heap-B/conn, server and test client together), after each
// connection exchanged one compressed message each way when compression
// is on: compression must not make idle connections hold a compressor,
// a decompressor or a window.
func BenchmarkIdleWebSocketMemory(b *testing.B) {
	const n = 1000
	for _, mode := range []struct {
		name string
		pmd  *PerMessageDeflate
	}{
		{"deflate=off", nil},
		{"deflate=on", &PerMessageDeflate{Threshold: -1}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var perConn float64
			for range b.N {
				srv := NewServer(echoOnly{}, &Options{PingInterval: time.Hour, PingTimeout: time.Hour, PerMessageDeflate: mode.pmd})
				ts := httptest.NewServer(srv)
				msg := append([]byte("4"), bytes.Repeat(chatMessage, 5)...)
				frame := clientFrame(true, opText, msg)
				if mode.pmd != nil {
					frame = rsv1Frame(true, opText, deflateBytes(b, msg))
				}
				clients := make([]net.Conn, 0, n)
				connect := func() {
					c, br := dialFanOut(b, ts, true)
					if _, err := c.nc.Write(frame); err != nil {
						b.Fatal(err)
					}
					z, _, err := c.readFrame(br)
					if err != nil || z != (mode.pmd != nil) {
						b.Fatalf("echo: compressed %v, %v", z, err)
					}
					clients = append(clients, c.nc)
				}
				connect() // warm-up
				before := liveHeapBytes()
				for range n {
					connect()
				}
				perConn = float64(liveHeapBytes()-before) / n
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = srv.Close(ctx)
				cancel()
				for _, c := range clients {
					c.Close()
				}
				ts.Close()
			}
			b.ReportMetric(perConn, "heap-B/conn")
		})
	}
}

// echoOnly sends every message back.
type echoOnly struct{}

func (echoOnly) OnOpen(*Session) Conn { return echoOnly{} }
func (echoOnly) OnMessage(s *Session, data []byte, binary bool) {
	s.Send(bytes.Clone(data), binary)
}
func (echoOnly) OnClose(*Session, Reason) {}

// liveHeapBytes returns the bytes of heap objects left after a garbage
// collection.
func liveHeapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
