package redisadapter

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/internal/adaptertest/nodepeer"
)

// nodeDir is the folder of the Node.js helper scripts.
var nodeDir = filepath.Join("..", "..", "e2e", "redis")

// nodeModules are the npm packages the Node.js node needs.
var nodeModules = []string{"@socket.io/redis-adapter", "redis", "socket.io", "socket.io-client"}

// needNode skips the test unless node and the npm packages of the Node.js
// node can be found.
func needNode(t *testing.T) {
	t.Helper()
	nodepeer.Need(t, nodeDir, nodeModules, "@socket.io/redis-adapter 8.3.0, redis 4.7.1")
}

// nodeProc is a running e2e/redis/node-node.js.
type nodeProc = nodepeer.Proc

// startNode starts the Node.js node on Redis at redisAddr with channel
// prefix key, and waits until it listens.
func startNode(t *testing.T, redisAddr, key string) *nodeProc {
	t.Helper()
	return nodepeer.Start(t, nodeDir, "node-node.js", "REDIS_URL=redis://"+redisAddr, "ADAPTER_KEY="+key, "REQUESTS_TIMEOUT=3000")
}

var (
	eventOf = nodepeer.EventOf
	str     = nodepeer.Str
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer = nodepeer.LockedBuffer

// waitServerCount polls until the adapter counts n servers.
func waitServerCount(t *testing.T, a *Adapter, n int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "server count "+strconv.Itoa(n), func() bool {
		got, err := a.ServerCount(context.Background())
		return err == nil && got == n
	})
}
