package redisadapter

import (
	"context"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/parser"
)

// ackRequest is a broadcast of this node whose acknowledgements other nodes
// relay.
type ackRequest struct {
	onClientCount func(n int)
	onAck         func(ack adapter.Ack)
	timer         *time.Timer
}

// BroadcastWithAck delivers pkt to the selected sockets of every node with
// an ack id (the reference's broadcastWithAck). onClientCount is called
// once per node that delivered it, this one included, with the number of
// clients it reached; onAck once per client acknowledgement. Both may be
// called from any goroutine, in any order. Completion is for the caller to
// judge: it is reached when onClientCount was called ServerCount times and
// onAck as many times as the counts add up to. Acknowledgements from other
// nodes are relayed until opts.Flags.Timeout (default
// Options.RequestsTimeout). A failure to publish is logged, as for
// Broadcast.
func (a *Adapter) BroadcastWithAck(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions, onClientCount func(n int), onAck func(ack adapter.Ack)) error {
	if !opts.Flags.Local {
		id := newID()
		msg, err := encodeAckBroadcast(a.uid, id, pkt, opts)
		if err != nil {
			return err
		}
		timeout := opts.Flags.Timeout
		if timeout <= 0 {
			timeout = a.opts.RequestsTimeout
		}
		ar := &ackRequest{onClientCount: onClientCount, onAck: onAck}
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			return adapter.ErrClosed
		}
		a.acks[id] = ar
		ar.timer = time.AfterFunc(timeout, func() {
			a.mu.Lock()
			delete(a.acks, id)
			a.mu.Unlock()
		})
		a.mu.Unlock()
		a.publishBroadcast(ctx, a.requestChannel, msg)
	}
	onClientCount(a.BroadcastLocalWithAck(pkt, opts, onAck))
	return nil
}

// onAckBroadcast delivers a broadcast of another node that expects
// acknowledgements, and relays the client count and the acknowledgements.
func (a *Adapter) onAckBroadcast(req *request) {
	if req.packet.Namespace != a.nsp {
		return
	}
	opts := req.Opts.options()
	opts.Flags = req.flags
	opts.Flags.Local = true
	n := a.BroadcastLocalWithAck(req.packet, opts, func(ack adapter.Ack) {
		var first []byte
		if args, err := parser.SplitArray(ack.Args); err == nil && len(args) > 0 {
			first = args[0]
		}
		body, err := encodeAckResponse(req.RequestID, first, ack.Attachments)
		if err != nil {
			a.log.Warn("redisadapter: cannot encode acknowledgement", "err", err)
			return
		}
		a.respond(req, body)
	})
	a.respondJSON(req, map[string]any{
		"type":        reqBroadcastClientCount,
		"requestId":   req.RequestID,
		"clientCount": n,
	})
}
