package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
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
