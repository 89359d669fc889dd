package redisstreams

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterreq"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
)

// ErrTimeout is wrapped by the error of a request whose answers did not all
// arrive in time.
var ErrTimeout = errors.New("redisstreams: timeout reached while waiting for responses")

// newRequests returns the request machinery of a: requests go on the
// namespace's channel, answers on the requester's, and as many answers
// are awaited as the channel has other subscribers.
func (a *Adapter) newRequests() *clusterreq.Core {
	return clusterreq.New(clusterreq.Config{
		Name:       "redisstreams",
		Memory:     a.Memory,
		Log:        a.log,
		Mu:         &a.mu,
		Closed:     a.isClosed,
		Timeout:    a.opts.RequestsTimeout,
		ErrTimeout: ErrTimeout,
		DecodeData: a.opts.DecodeData,
		Publish: func(ctx context.Context, typ int, data *jsvalue.Object) error {
			return a.publish(ctx, a.publicChannel, &message{uid: a.uid, nsp: a.nsp, typ: typ, data: data})
		},
		Respond: a.respond,
		Count: func(ctx context.Context) (int, error) {
			n, err := a.ServerCount(ctx)
			return n - 1, err
		},
	})
}

// respond publishes an answer on the requesting node's channel.
func (a *Adapter) respond(requester string, typ int, data *jsvalue.Object) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	_ = a.publish(ctx, a.publicChannel+requester+"#", &message{uid: a.uid, nsp: a.nsp, typ: typ, data: data})
}

// Sockets implements adapter.Adapter: the ids of the selected sockets of
// every node (through fetchSockets, as the reference has no request for
// ids alone).
func (a *Adapter) Sockets(ctx context.Context, opts adapter.BroadcastOptions) ([]string, error) {
	return a.req.Sockets(ctx, opts)
}

// FetchSockets implements adapter.Adapter: the selected sockets of every
// node. On a timeout the sockets gathered so far (the local ones and those
// of the nodes that answered) are returned with an error wrapping
// ErrTimeout; when Redis cannot be reached, the local ones with that error.
// The wait is opts.Flags.Timeout, or Options.RequestsTimeout.
func (a *Adapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	return a.req.FetchSockets(ctx, opts)
}

// ServerSideEmit implements adapter.Adapter (the reference's
// serverSideEmit): args holds the event name then its arguments, which
// must marshal to JSON.
func (a *Adapter) ServerSideEmit(ctx context.Context, args ...any) error {
	return a.req.ServerSideEmit(ctx, args...)
}

// ServerSideEmitWithAck is ServerSideEmit waiting for one answer from each
// other node, for Options.RequestsTimeout at most. On a timeout the answers
// received so far are returned with an error wrapping ErrTimeout.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, args ...any) ([]json.RawMessage, error) {
	return a.req.ServerSideEmitWithAck(ctx, args...)
}

// BroadcastWithAck implements adapter.Adapter (the reference's
// broadcastWithAck): the packet goes to the other nodes over the
// namespace's channel, not the stream, and they relay their client counts
// and the acknowledgements until opts.Flags.Timeout (default
// Options.RequestsTimeout). onClientCount is called once per node that
// delivered it, this one included; onAck once per acknowledgement, from
// any goroutine. A failure to publish is logged.
func (a *Adapter) BroadcastWithAck(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions, onClientCount func(n int), onAck func(ack adapter.Ack)) error {
	return a.req.BroadcastWithAck(ctx, pkt, opts, onClientCount, onAck)
}

// onAckBroadcast delivers a broadcast of another node that expects
// acknowledgements, and relays the client count and the acknowledgements.
func (a *Adapter) onAckBroadcast(m *message) {
	id, ok := m.data.GetString("requestId")
	if !ok {
		return
	}
	p, _ := m.data.Get("packet")
	pkt, err := clusterwire.TreePacket(p, m.nsp)
	if err != nil {
		a.log.Debug("redisstreams: ignoring malformed broadcast", "err", err)
		return
	}
	o, _ := m.data.Get("opts")
	opts := clusterwire.TreeOpts(o)
	opts.Flags.Local = true
	a.req.OnAckBroadcast(m.uid, id, pkt, opts)
}
