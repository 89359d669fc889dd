package engine

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"
)

// vecWriter.writev sends every byte, in order, when the peer reads slowly (partial
// writes and waits for writability) and the vector exceeds IOV_MAX, and
// leaves no pointer in the scratch vector.
func TestWritevPartialAndLong(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	defer server.Close()
	_ = server.(*net.TCPConn).SetWriteBuffer(4096)

	var bufs [][]byte
	var want bytes.Buffer
	for i := range 3000 { // over maxIovecs buffers, about 1.5 MB
		b := bytes.Repeat([]byte(fmt.Sprintf("%04d", i%10000)), 128)
		if i%7 == 0 {
			b = nil // empty buffers are skipped
		}
		bufs = append(bufs, b)
		want.Write(b)
	}
	got := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		chunk := make([]byte, 1000)
		for b.Len() < want.Len() {
			n, err := client.Read(chunk)
			b.Write(chunk[:n])
			if err != nil {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		got <- b.Bytes()
	}()
	_ = server.SetWriteDeadline(time.Now().Add(20 * time.Second))
	var vw vecWriter
	if err := vw.writev(rawConnOf(server), bufs); err != nil {
		t.Fatal(err)
	}
	for i, v := range vw.iov[:cap(vw.iov)] {
		if v.Base != nil {
			t.Fatalf("iov[%d] still points at a buffer", i)
		}
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("received %d bytes, want %d (equal prefix: %v)", len(b), want.Len(), bytes.HasPrefix(want.Bytes(), b))
	}

	// A call allocates nothing.
	raw := rawConnOf(server)
	small := [][]byte{[]byte("ab"), []byte("cd")}
	if a := testing.AllocsPerRun(100, func() { _ = vw.writev(raw, small[:2:2]) }); a != 0 {
		t.Errorf("%v allocations per writev", a)
	}

	// A write deadline that passes while the peer does not read fails the
	// write with a timeout.
	_ = server.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	big := [][]byte{make([]byte, 64<<20)}
	if err := vw.writev(rawConnOf(server), big); err == nil || !isTimeout(err) {
		t.Fatalf("write to a peer that does not read: %v, want a timeout", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
