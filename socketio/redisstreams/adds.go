package redisstreams

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// maxAddBatch bounds the XADDs of one pipeline.
const maxAddBatch = 128

type addReq struct {
	ctx  context.Context
	args *redis.XAddArgs
	id   string
	err  error
	done chan struct{}
}

// xadd appends an entry to a stream, in a pipeline with the other XADDs
// queued at the same time (internal/groupsend), and returns its id: like
// a group commit, a lone XADD goes at once, and those that arrive while a
// pipeline is on its way go together in the next one, in the order they
// arrived (which is then their order in the streams). A wave of
// broadcasts (each joining socket's first packets, with connection state
// recovery) then costs a round trip per batch instead of one each, and
// holds one connection of the client's pool instead of one each.
func (c *cluster) xadd(ctx context.Context, args *redis.XAddArgs) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r := &addReq{ctx: ctx, args: args, done: make(chan struct{})}
	c.adds.Add(r)
	<-r.done
	return r.id, r.err
}

// sendAdds sends batch in one round trip and hands each caller its
// answer. A caller that gave up (its context ended) before the batch left
// is not sent.
func (c *cluster) sendAdds(batch []*addReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		r := live[0]
		r.id, r.err = c.rdb.XAdd(r.ctx, r.args).Result()
		close(r.done)
		return
	}
	// One caller's end must not cancel the others' entries: the pipeline
	// is bounded by the client's read and write timeouts.
	ctx := context.WithoutCancel(live[0].ctx)
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(live))
	for i, r := range live {
		cmds[i] = pipe.XAdd(ctx, r.args)
	}
	_, _ = pipe.Exec(ctx)
	for i, r := range live {
		r.id, r.err = cmds[i].Result()
		close(r.done)
	}
}
