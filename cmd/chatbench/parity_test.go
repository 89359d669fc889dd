package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/client"
)

// chatEvents records the events a client socket receives.
type chatEvents struct {
	ch chan chatEvent
}

type chatEvent struct {
	name string
	arg  json.RawMessage
}

func dialChat(t *testing.T, ctx context.Context, base, cookie string) (*client.Socket, *chatEvents) {
	t.Helper()
	ev := &chatEvents{ch: make(chan chatEvent, 256)}
	m, err := client.NewManager(base, &client.Options{
		Transports:          []string{client.TransportWebSocket},
		DisableReconnection: true,
		Header:              http.Header{"Cookie": {cookie}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	// The handlers are in place before the socket connects: the server
	// sends unread right after the CONNECT, which may arrive before a
	// Dial returns.
	s := m.Socket("/user", &client.SocketOptions{NoAutoConnect: true})
	s.OnAny(func(name string, args client.Args) {
		ev.ch <- chatEvent{name, append(json.RawMessage(nil), args.Raw(0)...)}
	})
	connected := make(chan error, 1)
	report := func(err error) {
		select {
		case connected <- err:
		default:
		}
	}
	s.OnConnect(func() { report(nil) })
	s.OnConnectError(func(err *client.ConnectError) { report(err) })
	s.Connect()
	select {
	case err := <-connected:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, ev
}

// next returns the next event named one of names, skipping others.
func (e *chatEvents) next(t *testing.T, names ...string) chatEvent {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-e.ch:
			if slices.Contains(names, ev.name) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v within 5s", names)
		}
	}
}

// The parts of docs/protocol.md the load runs exercise behave alike on
// chatd and nodechat.js: unread on connect, the join's ack and history,
// updateMembers with presence when a user joins and leaves.
func testChatParity(t *testing.T, command string) {
	tg := &target{cmd: command, stderr: io.Discard}
	if err := tg.start(); err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cookies, err := setupAccounts(ctx, tg.url, "parity", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The cookie header value: "name=value".
	a, aev := dialChat(t, ctx, tg.url, strings.SplitN(cookies[0], ";", 2)[0])
	if ev := aev.next(t, "unread"); !strings.Contains(string(ev.arg), `"chat":0`) {
		t.Errorf("unread on connect: %s", ev.arg)
	}
	ack, err := a.EmitWithAck(ctx, "joinRoom", "chat")
	if err != nil || !strings.Contains(string(ack.Raw(0)), `"members":1`) {
		t.Fatalf("joinRoom ack %s, %v", ack.Raw(0), err)
	}
	if ev := aev.next(t, "historyUpdate"); string(ev.arg) != "[]" {
		t.Errorf("history of a new room: %s", ev.arg)
	}
	if ev := aev.next(t, "presence"); !strings.Contains(string(ev.arg), `"joined":["parity0"]`) {
		t.Errorf("presence of her own join: %s", ev.arg)
	}
	b, _ := dialChat(t, ctx, tg.url, strings.SplitN(cookies[1], ";", 2)[0])
	if _, err := b.EmitWithAck(ctx, "joinRoom", "chat"); err != nil {
		t.Fatal(err)
	}
	if ev := aev.next(t, "updateMembers"); string(ev.arg) != `{"room":"chat","members":2}` {
		t.Errorf("updateMembers after a second user joined: %s", ev.arg)
	}
	if ev := aev.next(t, "presence"); string(ev.arg) != `{"room":"chat","joined":["parity1"],"left":[]}` {
		t.Errorf("presence after a second user joined: %s", ev.arg)
	}
	_ = b.Close()
	if ev := aev.next(t, "updateMembers"); string(ev.arg) != `{"room":"chat","members":1}` {
		t.Errorf("updateMembers after the user left: %s", ev.arg)
	}
	if ev := aev.next(t, "presence"); string(ev.arg) != `{"room":"chat","joined":[],"left":["parity1"]}` {
		t.Errorf("presence after the user left: %s", ev.arg)
	}
}

func TestChatParityChatd(t *testing.T) {
	bin := buildChatd(t)
	dir := t.TempDir()
	if strings.ContainsAny(bin+dir, " \t") {
		t.Skip("temporary paths with white space cannot go into -server-cmd")
	}
	testChatParity(t, bin+" -addr 127.0.0.1:0 -db "+filepath.Join(dir, "chatd.db")+" -msg-rate 0 -log-level warn")
}

func TestChatParityNode(t *testing.T) {
	testChatParity(t, nodeChatCmd(t, t.TempDir()))
}
