package socketio

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
)

// EmitWithAck sends an event to the selected sockets, on every node, and
// collects the first argument of each socket's acknowledgement (each
// response is an Args of length one). It returns when every selected socket
// has answered, at once when none is selected, or when the operator's
// Timeout or ctx ends the wait: then it returns the responses received so
// far with ErrTimeout (or ctx's error). On a dynamic namespace it covers
// every child namespace.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if b.flags.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.flags.Timeout)
		defer cancel()
	}
	var all []Args
	for _, ns := range b.targets() {
		res, err := b.emitWithAck(ctx, ns, event, args)
		all = append(all, res...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

func (b BroadcastOperator) emitWithAck(ctx context.Context, ns *Namespace, event string, args []any) ([]Args, error) {
	servers, err := ns.adapter.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	p, atts, err := eventPacket(ns.name, event, args)
	if err != nil {
		return nil, err
	}
	var (
		mu        sync.Mutex
		responses []Args
		expected  int
		heard     int
		done      = make(chan struct{})
		finished  bool
	)
	check := func() { // mu held
		if !finished && heard >= servers && len(responses) >= expected {
			finished = true
			close(done)
		}
	}
	opts := b.options()
	if opts.Flags.Timeout <= 0 {
		if deadline, ok := ctx.Deadline(); ok {
			opts.Flags.Timeout = timeUntil(deadline)
		}
	}
	err = ns.adapter.BroadcastWithAck(ctx, &adapter.Packet{Packet: p, Attachments: atts}, opts,
		func(n int) {
			mu.Lock()
			defer mu.Unlock()
			expected += n
			heard++
			check()
		},
		func(ack adapter.Ack) {
			var raw []json.RawMessage
			if json.Unmarshal(ack.Args, &raw) != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			responses = append(responses, newArgs(raw, ack.Attachments).First())
			check()
		})
	if err != nil {
		return nil, err
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	out := append([]Args(nil), responses...)
	if !finished {
		finished = true
		if ctx.Err() == context.DeadlineExceeded {
			ns.server.stats.ackTimeouts.Add(uint64(max(expected-len(out), 0)))
			return out, ErrTimeout
		}
		return out, ctx.Err()
	}
	return out, nil
}

// ServerSideEmit sends an event to the other nodes of the cluster (their
// OnServerSideEmit handlers for this namespace). With a single-node
// adapter it does nothing, as the reference.
func (ns *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if IsReservedEvent(event) {
		return ErrReservedEvent
	}
	return ns.adapter.ServerSideEmit(ctx, append([]any{event}, args...)...)
}

// ServerSideEmitWithAck is ServerSideEmit waiting for one answer from each
// other node (nil on a single node).
func (ns *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	if IsReservedEvent(event) {
		return nil, ErrReservedEvent
	}
	return ns.adapter.ServerSideEmitWithAck(ctx, append([]any{event}, args...)...)
}

// OnServerSideEmit registers the handler of events sent by other nodes with
// ServerSideEmit: args holds the event name then its arguments; ack is nil
// unless the sender waits for an answer, and sends one answer when called.
// The handler runs on the adapter's receiving goroutine: it must return
// quickly (start a goroutine for longer work).
func (ns *Namespace) OnServerSideEmit(fn func(event string, args []json.RawMessage, ack func(any))) {
	ns.mu.Lock()
	ns.serverSide = append(ns.serverSide, fn)
	ns.mu.Unlock()
}

func timeUntil(t time.Time) time.Duration {
	d := time.Until(t)
	if d <= 0 {
		return time.Nanosecond
	}
	return d
}
