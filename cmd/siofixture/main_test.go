package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
	"github.com/chatd/chatd/socketio/socketiotest"
)

func TestFixtureEndpoints(t *testing.T) {
	leakcheck.Check(t)
	eio, sio := newHandlers(slog.New(slog.DiscardHandler), nil, false)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sio.Close(ctx)
		_ = eio.Close(ctx)
		hs.Close()
	})

	// The option values of the suites, exactly five keys.
	resp, err := http.Get(hs.URL + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"upgrades":["websocket"]`, `"pingInterval":300`, `"pingTimeout":200`, `"maxPayload":1000000`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("open packet %s lacks %s", body, want)
		}
	}
	if strings.Count(string(body), ":") != 5 {
		t.Errorf("open packet %s: want exactly five keys", body)
	}

	// /engine.io/ echoes text and binary.
	e := socketiotest.Dial(t, hs.URL+"/engine.io/", nil)
	e.Send("4hello")
	e.Expect("4hello")
	e.SendBinary([]byte{1, 2, 3, 4})
	e.ExpectBinary([]byte{1, 2, 3, 4})

	// /socket.io/: auth after the CONNECT reply, /custom, unknown namespaces.
	s := socketiotest.Dial(t, hs.URL+"/socket.io/", nil)
	s.Connect("/", map[string]string{"token": "123"})
	s.Expect(`42["auth",{"token":"123"}]`)
	s.Connect("/custom", nil)
	s.Expect(`42/custom,["auth",{}]`)
	s.Send(`40/random`)
	s.Expect(`44/random,{"message":"Invalid namespace"}`)
	s.Send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	s.Expect(`43456[1,"2",{"3":[false]}]`)
}

// run serves both endpoints on the address given, prints the listening
// line, and stops when its context ends.
func TestRun(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-v"}, &stdout, &stderr) }()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, path := range []string{"/engine.io/", "/socket.io/"} {
		res, err := http.Get(url + path + "?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(string(body), `0{"sid":"`) {
			t.Errorf("%s handshake: %d %s", path, res.StatusCode, body)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-addr", "256.0.0.1:0"}, {"-parser", "xml"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestFixtureMsgpack runs the Socket.IO requirements of the protocol suite
// (docs/conformance.md, S1-S16) in their msgpack form against the fixture
// with -parser msgpack.
func TestFixtureMsgpack(t *testing.T) {
	leakcheck.Check(t)
	eio, sio := newHandlers(slog.New(slog.DiscardHandler), msgpackparser.Parser{}, false)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sio.Close(ctx)
		_ = eio.Close(ctx)
		hs.Close()
	})
	dial := func() *socketiotest.Conn { return socketiotest.Dial(t, hs.URL+"/socket.io/", nil) }
	const sid = `\{"sid":"[^"]+"\}`

	c := dial() // S1
	c.SendMsgpack(`0`)
	c.ExpectMsgpackMatch(`0` + sid)
	c.ExpectMsgpack(`2["auth",{}]`)
	// S10, S11, S12, S13
	c.SendMsgpack(`2["message",1,"2",{"3":[true]}]`)
	c.ExpectMsgpack(`2["message-back",1,"2",{"3":[true]}]`)
	c.SendMsgpack(`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, []byte{1, 2, 3}, []byte{4, 5, 6})
	c.ExpectMsgpack(`52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, []byte{1, 2, 3}, []byte{4, 5, 6})
	c.SendMsgpack(`2456["message-with-ack",1,"2",{"3":[false]}]`)
	c.ExpectMsgpack(`3456[1,"2",{"3":[false]}]`)
	c.SendMsgpack(`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, []byte{1, 2, 3}, []byte{4, 5, 6})
	c.ExpectMsgpack(`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, []byte{1, 2, 3}, []byte{4, 5, 6})
	// S3 then S9: a custom namespace on the same connection, left again.
	c.SendMsgpack(`0/custom,{"token":"abc"}`)
	c.ExpectMsgpackMatch(`0/custom,` + sid)
	c.ExpectMsgpack(`2/custom,["auth",{"token":"abc"}]`)
	c.SendMsgpack(`1/custom,`)
	c.SendMsgpack(`2["message","message to main namespace"]`)
	c.ExpectMsgpack(`2["message-back","message to main namespace"]`)
	// S5: the connection stays open.
	c.SendMsgpack(`0/random,`)
	c.ExpectMsgpack(`4/random,{"message":"Invalid namespace"}`)
	c.SendMsgpack(`2["message","still open"]`)
	c.ExpectMsgpack(`2["message-back","still open"]`)

	c = dial() // S2
	c.SendMsgpack(`0{"token":"123"}`)
	c.ExpectMsgpackMatch(`0` + sid)
	c.ExpectMsgpack(`2["auth",{"token":"123"}]`)

	// S6, S14-S16 and the other malformed packets close the connection.
	for _, bad := range [][]byte{
		[]byte("\x82\xa4type\x05\xa3nsp\xa1/"),                             // type 5
		[]byte("\x83\xa4type\x02\xa4data\x80\xa3nsp\xa1/"),                 // EVENT data not an array
		[]byte("\x84\xa4type\x02\xa4data\x91\xa1e\xa3nsp\xa1/\xa2id\xa11"), // id a string
		[]byte("\x81\xa4type\x00"),                                         // no nsp
		[]byte("\x82\xa4type\x00\xa3nsp\xa1/\x00"),                         // trailing byte
	} {
		c := dial()
		c.SendMsgpack(`0`)
		c.ExpectMsgpackMatch(`0` + sid)
		c.ExpectMsgpack(`2["auth",{}]`)
		c.SendBinary(bad)
		c.ExpectMsgpackClosed()
	}
	c = dial() // a text packet, as the default parser would send
	c.Send(`40`)
	c.ExpectMsgpackClosed()
}
