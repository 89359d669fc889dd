package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/parser"
)

// pending is a request waiting for the answers of the other nodes. Its
// fields are written under Adapter.mu while it is in Adapter.requests;
// once removed from there it is read by the requester alone.
type pending struct {
	kind   int
	expect int
	got    int
	done   chan struct{}
	err    error

	ids       []string
	sockets   []adapter.SocketInfo
	rooms     []string
	responses []json.RawMessage
}

// ask publishes req and waits for expect answers, the request timeout or
// the end of ctx. The returned pending holds what arrived (nil when the
// request could not be sent).
func (a *Adapter) ask(ctx context.Context, req *request, expect int) (p *pending, err error) {
	start := time.Now()
	defer func() { a.observeRequest(req.Type, time.Since(start), err) }()
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	p = &pending{kind: req.Type, expect: expect, done: make(chan struct{})}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, adapter.ErrClosed
	}
	a.requests[req.RequestID] = p
	a.mu.Unlock()

	if err := a.ps.Publish(ctx, a.requestChannel, body); err != nil {
		a.forget(req.RequestID)
		return nil, fmt.Errorf("redisadapter: publishing request: %w", err)
	}
	timer := time.NewTimer(a.opts.RequestsTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p, p.err
	case <-timer.C:
		err = fmt.Errorf("%w: %s: %d of %d responses", ErrTimeout, requestName(req.Type), a.forget(req.RequestID), expect)
	case <-ctx.Done():
		a.forget(req.RequestID)
		err = ctx.Err()
	}
	// The answer may have completed the request in the meantime.
	select {
	case <-p.done:
		return p, p.err
	default:
	}
	return p, err
}

// forget removes a pending request and returns the number of answers it
// received.
func (a *Adapter) forget(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.requests[id]
	if p == nil {
		return 0
	}
	delete(a.requests, id)
	return p.got
}

func requestName(t int) string {
	switch t {
	case reqSockets:
		return "sockets"
	case reqAllRooms:
		return "allRooms"
	case reqRemoteFetch:
		return "fetchSockets"
	case reqServerSideEmit:
		return "serverSideEmit"
	}
	return fmt.Sprintf("request type %d", t)
}

// onRequest answers a request of another node.
func (a *Adapter) onRequest(payload []byte) {
	req, err := decodeRequest(payload)
	if err != nil {
		a.log.Debug("redisadapter: ignoring malformed request", "err", err)
		return
	}
	if req.UID == a.uid {
		return // our own request, already applied locally
	}
	ctx := context.Background()
	close := req.Close != nil && *req.Close
	switch req.Type {
	case reqSockets:
		ids, _ := a.Memory.Sockets(ctx, adapter.BroadcastOptions{Rooms: req.Rooms})
		a.respondJSON(req, map[string]any{"requestId": req.RequestID, "sockets": nonNil(ids)})
	case reqAllRooms:
		a.respondJSON(req, map[string]any{"requestId": req.RequestID, "rooms": nonNil(a.localRooms())})
	case reqRemoteJoin:
		if req.Opts != nil {
			_ = a.Memory.AddSockets(ctx, req.Opts.options(), req.Rooms)
			return
		}
		if _, ok := a.Emitter().Socket(req.SID); ok {
			a.AddAll(req.SID, req.Room)
			a.respondJSON(req, map[string]any{"requestId": req.RequestID})
		}
	case reqRemoteLeave:
		if req.Opts != nil {
			_ = a.Memory.DelSockets(ctx, req.Opts.options(), req.Rooms)
			return
		}
		if _, ok := a.Emitter().Socket(req.SID); ok {
			a.Del(req.SID, req.Room)
			a.respondJSON(req, map[string]any{"requestId": req.RequestID})
		}
	case reqRemoteDisconnect:
		if req.Opts != nil {
			_ = a.Memory.DisconnectSockets(ctx, req.Opts.options(), close)
			return
		}
		if _, ok := a.Emitter().Socket(req.SID); ok {
			a.Emitter().DisconnectSocket(req.SID, close)
			a.respondJSON(req, map[string]any{"requestId": req.RequestID})
		}
	case reqRemoteFetch:
		infos := a.FetchLocal(req.Opts.options())
		sockets := make([]any, 0, len(infos))
		for _, in := range infos {
			sockets = append(sockets, a.describe(in))
		}
		a.respondJSON(req, map[string]any{"requestId": req.RequestID, "sockets": sockets})
	case reqServerSideEmit:
		a.onServerSideEmit(req)
	case reqBroadcast:
		if req.hasPacket {
			a.onAckBroadcast(req)
		}
	}
}

// describe gives a local socket as the reference describes it in
// fetch-sockets responses.
func (a *Adapter) describe(in adapter.SocketInfo) map[string]any {
	rooms := a.SocketRooms(in.ID) // the adapter is the authority on rooms
	if rooms == nil {
		rooms = in.Rooms
	}
	m := map[string]any{
		"id":        in.ID,
		"handshake": clusterwire.ToHandshake(in.Handshake),
		"rooms":     nonNil(rooms),
	}
	if in.Data != nil {
		data, err := json.Marshal(in.Data)
		if err != nil {
			a.log.Warn("redisadapter: socket data cannot be sent to other nodes", "id", in.ID, "err", err)
		} else {
			m["data"] = json.RawMessage(data)
		}
	}
	return m
}

// respondJSON publishes a JSON answer to req.
func (a *Adapter) respondJSON(req *request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.log.Warn("redisadapter: cannot encode response", "err", err)
		return
	}
	a.respond(req, body)
}

// respond publishes an answer to req on the shared response channel, or on
// the requester's own one.
func (a *Adapter) respond(req *request, body []byte) {
	channel := a.responseChannel
	if a.opts.PublishOnSpecificResponseChannel {
		channel += req.UID + "#"
	}
	a.publishAnswer(channel, body)
}

func (a *Adapter) publishAnswer(channel string, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	if err := a.ps.Publish(ctx, channel, body); err != nil {
		a.publishErrors.Warn(a.log, "redisadapter: response not published", err)
	}
}

// onResponse records an answer to one of our requests.
func (a *Adapter) onResponse(payload []byte) {
	resp, err := decodeResponse(payload)
	if err != nil || resp.RequestID == "" {
		return
	}
	a.mu.Lock()
	ar := a.acks[resp.RequestID]
	p := a.requests[resp.RequestID]
	a.mu.Unlock()
	if ar != nil {
		switch {
		case resp.Type != nil && *resp.Type == reqBroadcastClientCount && resp.ClientCount != nil:
			ar.onClientCount(*resp.ClientCount)
		case resp.Type != nil && *resp.Type == reqBroadcastAck && resp.ack != nil:
			ar.onAck(*resp.ack)
		}
		return
	}
	if p == nil {
		return
	}
	// Decode outside the lock (DecodeData is the application's code).
	var (
		ids     []string
		sockets []adapter.SocketInfo
	)
	switch p.kind {
	case reqSockets:
		_ = json.Unmarshal(resp.Sockets, &ids)
	case reqRemoteFetch:
		sockets = a.remoteSockets(resp.Sockets)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.requests[resp.RequestID] != p {
		return // timed out meanwhile
	}
	p.ids = append(p.ids, ids...)
	p.sockets = append(p.sockets, sockets...)
	p.rooms = append(p.rooms, resp.Rooms...)
	if p.kind == reqServerSideEmit {
		p.responses = append(p.responses, resp.Data)
	}
	p.got++
	if p.got >= p.expect {
		delete(a.requests, resp.RequestID)
		close(p.done)
	}
}

// remoteSockets decodes the sockets of a fetch-sockets response.
func (a *Adapter) remoteSockets(raw json.RawMessage) []adapter.SocketInfo {
	var ws []clusterwire.Socket
	if err := json.Unmarshal(raw, &ws); err != nil {
		a.log.Debug("redisadapter: malformed fetch-sockets response", "err", err)
		return nil
	}
	out := make([]adapter.SocketInfo, 0, len(ws))
	for _, w := range ws {
		info := adapter.SocketInfo{ID: w.ID, Handshake: w.Handshake.Adapter(), Rooms: w.Rooms}
		if len(w.Data) > 0 && string(w.Data) != "null" {
			data, err := a.opts.DecodeData(w.Data)
			if err != nil {
				a.log.Warn("redisadapter: cannot decode socket data", "id", w.ID, "err", err)
			}
			info.Data = data
		}
		out = append(out, info)
	}
	return out
}

// onServerSideEmit hands an event of another node to the namespace.
func (a *Adapter) onServerSideEmit(req *request) {
	args, err := parser.SplitArray(req.Data)
	if err != nil || len(args) == 0 {
		return
	}
	var ack func(any)
	if req.RequestID != "" {
		var once sync.Once
		ack = func(v any) { once.Do(func() { a.serverSideAck(req.RequestID, v) }) }
	}
	a.Emitter().ReceiveServerSideEmit(args, ack)
}

// serverSideAck publishes this node's answer to a server-side event.
func (a *Adapter) serverSideAck(requestID string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		a.log.Warn("redisadapter: cannot encode server-side ack", "err", err)
		return
	}
	body, _ := json.Marshal(map[string]any{
		"type":      reqServerSideEmit,
		"requestId": requestID,
		"data":      json.RawMessage(data),
	})
	// The reference always answers on the shared channel.
	a.publishAnswer(a.responseChannel, body)
}
