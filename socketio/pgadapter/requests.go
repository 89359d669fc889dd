package pgadapter

import (
	"context"
	"encoding/json"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterreq"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
)

// newRequests returns the request machinery of a: the answers are awaited
// from the nodes heard from, by uid.
func (a *Adapter) newRequests() *clusterreq.Core {
	return clusterreq.New(clusterreq.Config{
		Name:       "pgadapter",
		Memory:     a.Memory,
		Log:        a.log,
		Mu:         &a.mu,
		Closed:     a.isClosed,
		Timeout:    a.opts.RequestsTimeout,
		ErrTimeout: ErrTimeout,
		DecodeData: a.opts.DecodeData,
		Publish:    a.publish,
		Respond:    func(_ string, typ int, data *jsvalue.Object) { a.respond(typ, data) },
		Nodes: func() []string {
			uids := make([]string, 0, len(a.nodes))
			for uid := range a.nodes {
				uids = append(uids, uid)
			}
			return uids
		},
	})
}

// Sockets implements adapter.Adapter: the ids of the selected sockets of
// every node (through fetchSockets, as the reference has no request for
// ids alone).
func (a *Adapter) Sockets(ctx context.Context, opts adapter.BroadcastOptions) ([]string, error) {
	return a.req.Sockets(ctx, opts)
}

// FetchSockets implements adapter.Adapter: the selected sockets of every
// node. On a timeout the sockets gathered so far are returned with an
// error wrapping ErrTimeout; when PostgreSQL cannot be reached, the local
// ones with that error. The wait is opts.Flags.Timeout, or
// Options.RequestsTimeout.
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
// broadcastWithAck): the other nodes relay their client counts and the
// acknowledgements until opts.Flags.Timeout (default
// Options.RequestsTimeout). onClientCount is called once per node that
// delivered it, this one included; onAck once per acknowledgement, from
// any goroutine. A failure to send the packet is logged.
func (a *Adapter) BroadcastWithAck(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions, onClientCount func(n int), onAck func(ack adapter.Ack)) error {
	return a.req.BroadcastWithAck(ctx, pkt, opts, onClientCount, onAck)
}
