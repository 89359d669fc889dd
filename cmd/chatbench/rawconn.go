package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// rawConn is a lean Socket.IO client over a hand-rolled WebSocket: one
// goroutine and one small read buffer per connection, frames parsed in
// place without allocating. It speaks just what the benchmark needs: the
// main namespace, "join" with an acknowledgement, "to-room", "room-msg",
// and pongs.
type rawConn struct {
	conn  net.Conn
	br    *bufio.Reader
	onMsg func(payload []byte)
	// onPacket, when set, handles every Engine.IO packet but pings and
	// close (the chat protocol); otherwise the benchmark events are.
	onPacket func(p []byte) error

	wmu  sync.Mutex // guards writes to conn and wbuf
	wbuf []byte

	buf  []byte // payload of the frame being read (reused)
	done chan struct{}
}

// wsGUID is the key suffix of the WebSocket opening handshake (RFC 6455).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialRaw opens a WebSocket Engine.IO session to the Socket.IO server at
// base (such as "http://127.0.0.1:3000"), connects to the main namespace
// and joins room, all before returning. onMsg sees the payload of every
// "room-msg" event (the JSON text of its arguments, without the event
// name); it runs on the connection's reader goroutine and must not keep the
// slice.
func dialRaw(ctx context.Context, base *url.URL, room string, onMsg func(payload []byte)) (*rawConn, error) {
	c, err := dialWS(ctx, base, "")
	if err != nil {
		return nil, err
	}
	c.onMsg = onMsg
	if err := c.joinBench(room); err != nil {
		c.conn.Close()
		return nil, err
	}
	_ = c.conn.SetDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

// dialWS opens a WebSocket Engine.IO session to the server at base: the
// opening handshake, with header (complete header lines, such as
// "Cookie: a=b\r\n", or "") added to the request, and the Engine.IO open
// packet. The connection keeps the deadline of ctx; the caller clears it
// once its own handshake is done, and starts the reader.
func dialWS(ctx context.Context, base *url.URL, header string) (*rawConn, error) {
	// No TCP keep-alive: it only costs system calls on the load side.
	d := net.Dialer{KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", base.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c := &rawConn{conn: conn, br: bufio.NewReaderSize(conn, 2048), done: make(chan struct{})}
	if err := c.handshake(base, header); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// handshake performs the WebSocket upgrade and reads the Engine.IO open
// packet.
func (c *rawConn) handshake(base *url.URL, header string) error {
	var keyBytes [16]byte
	_, _ = rand.Read(keyBytes[:])
	key := base64.StdEncoding.EncodeToString(keyBytes[:])
	path := base.Path
	if path == "" || path == "/" {
		path = "/socket.io/"
	}
	req := "GET " + path + "?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: " + base.Host + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n" + header + "\r\n"
	if _, err := io.WriteString(c.conn, req); err != nil {
		return err
	}
	accept, err := c.readUpgradeResponse()
	if err != nil {
		return err
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if accept != base64.StdEncoding.EncodeToString(sum[:]) {
		return errors.New("websocket handshake: bad Sec-WebSocket-Accept")
	}
	// Engine.IO open packet.
	if err := c.expect(func(p []byte) bool { return len(p) > 0 && p[0] == '0' }); err != nil {
		return fmt.Errorf("open packet: %w", err)
	}
	return nil
}

// joinBench sends the Socket.IO CONNECT of the main namespace, then
// "join" and waits for its acknowledgement (no join when room is empty).
func (c *rawConn) joinBench(room string) error {
	if err := c.writeText([]byte("40")); err != nil {
		return err
	}
	if err := c.expect(func(p []byte) bool { return bytes.HasPrefix(p, []byte("40")) }); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if room == "" {
		return nil
	}
	if err := c.writeText([]byte(`420["join",` + quote(room) + `]`)); err != nil {
		return err
	}
	if err := c.expect(func(p []byte) bool { return bytes.HasPrefix(p, []byte("430")) }); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	return nil
}

// readUpgradeResponse reads the server's answer to the opening handshake
// and returns its Sec-WebSocket-Accept value. It reads the header lines
// itself (no net/http parsing: the load generator must stay cheap) and
// fails on any status but 101.
func (c *rawConn) readUpgradeResponse() (string, error) {
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return "", fmt.Errorf("websocket handshake: %w", err)
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 101 ")) {
		return "", fmt.Errorf("websocket handshake: %s", bytes.TrimSpace(status))
	}
	accept := ""
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return "", fmt.Errorf("websocket handshake: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return accept, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) {
			accept = string(bytes.TrimSpace(value))
		}
	}
}

// expect reads frames until one satisfies ok, handling pings and
// delivering room messages meanwhile.
func (c *rawConn) expect(ok func(p []byte) bool) error {
	for {
		p, err := c.next()
		if err != nil {
			return err
		}
		if ok(p) {
			return nil
		}
		if err := c.handle(p); err != nil {
			return err
		}
	}
}

// readLoop reads until the connection ends.
func (c *rawConn) readLoop() {
	defer close(c.done)
	for {
		p, err := c.next()
		if err != nil {
			return
		}
		if c.handle(p) != nil {
			return
		}
	}
}

var roomMsgPrefix = []byte(`42["room-msg",`)

// handle acts on one Engine.IO text packet.
func (c *rawConn) handle(p []byte) error {
	switch {
	case len(p) == 0:
	case p[0] == '2': // Engine.IO ping
		return c.writeText([]byte("3"))
	case p[0] == '1': // Engine.IO close
		return io.EOF
	case c.onPacket != nil:
		return c.onPacket(p)
	case bytes.HasPrefix(p, roomMsgPrefix) && len(p) > len(roomMsgPrefix):
		if c.onMsg != nil {
			c.onMsg(p[len(roomMsgPrefix) : len(p)-1])
		}
	case bytes.HasPrefix(p, []byte("41")): // Socket.IO DISCONNECT
		return io.EOF
	}
	return nil
}

// next returns the payload of the next complete text message, answering
// WebSocket pings on the way. The slice is valid until the next call.
func (c *rawConn) next() ([]byte, error) {
	if cap(c.buf) > 8<<10 {
		// A large message (a chat history) came last: do not keep its
		// buffer for the life of an idle connection.
		c.buf = nil
	}
	c.buf = c.buf[:0]
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
			return nil, err
		}
		fin := hdr[0]&0x80 != 0
		op := hdr[0] & 0x0f
		masked := hdr[1]&0x80 != 0
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if masked {
			return nil, errors.New("websocket: masked frame from server")
		}
		if n > 64<<20 {
			return nil, errors.New("websocket: frame too large")
		}
		if op >= 8 { // control frame
			var ctl [125]byte
			if n > 125 {
				return nil, errors.New("websocket: control frame too large")
			}
			if _, err := io.ReadFull(c.br, ctl[:n]); err != nil {
				return nil, err
			}
			switch op {
			case 8:
				return nil, io.EOF
			case 9:
				if err := c.writeFrame(0xA, ctl[:n]); err != nil {
					return nil, err
				}
			}
			continue
		}
		start := len(c.buf)
		need := start + int(n)
		if cap(c.buf) < need {
			nb := make([]byte, start, need+need/2)
			copy(nb, c.buf)
			c.buf = nb
		}
		c.buf = c.buf[:need]
		if _, err := io.ReadFull(c.br, c.buf[start:]); err != nil {
			return nil, err
		}
		if fin {
			if op == 2 { // binary: not used by the benchmark
				c.buf = c.buf[:0]
				continue
			}
			return c.buf, nil
		}
	}
}

// writeText sends one masked text frame.
func (c *rawConn) writeText(p []byte) error { return c.writeFrame(1, p) }

// writeFrame sends one masked frame with the given opcode.
func (c *rawConn) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	b = append(b, mask[:]...)
	off := len(b)
	b = append(b, p...)
	for i := range p {
		b[off+i] ^= mask[i&3]
	}
	c.wbuf = b
	_, err := c.conn.Write(b)
	return err
}

// Emit sends "to-room" with room and a JSON argument.
func (c *rawConn) Emit(room string, arg []byte) error {
	msg := make([]byte, 0, len(arg)+len(room)+24)
	msg = append(msg, `42["to-room",`...)
	msg = append(msg, quote(room)...)
	msg = append(msg, ',')
	msg = append(msg, arg...)
	msg = append(msg, ']')
	return c.writeText(msg)
}

// Close closes the connection and waits for its reader to end.
func (c *rawConn) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}
