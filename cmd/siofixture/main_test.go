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
	"github.com/chatd/chatd/socketio/socketiotest"
)

func TestFixtureEndpoints(t *testing.T) {
	leakcheck.Check(t)
	eio, sio := newHandlers(slog.New(slog.DiscardHandler))
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
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-addr", "256.0.0.1:0"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
