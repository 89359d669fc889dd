package redisstreams

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/internal/adaptertest/nodepeer"
)

// nodeDir is the folder of the Node.js helper scripts.
var nodeDir = filepath.Join("..", "..", "e2e", "redis")

// nodeModules are the npm packages the Node.js node needs.
var nodeModules = []string{"@socket.io/redis-streams-adapter", "redis", "socket.io", "socket.io-client"}

// needNode skips the test unless node and the npm packages of the Node.js
// node can be found.
func needNode(t *testing.T) {
	t.Helper()
	nodepeer.Need(t, nodeDir, nodeModules, "@socket.io/redis-streams-adapter 0.3.1, redis 4.7.1")
}

// nodeProc is a running e2e/redis/streams-node.js.
type nodeProc = nodepeer.Proc

// startNode starts the Node.js node on Redis at redisAddr with the stream
// (and channel and session prefix) name and the recovery window, and
// waits until it listens.
func startNode(t *testing.T, redisAddr, name string, recovery time.Duration) *nodeProc {
	t.Helper()
	return nodepeer.Start(t, nodeDir, "streams-node.js", "REDIS_URL=redis://"+redisAddr, "STREAM_NAME="+name, "RECOVERY_MS="+strconv.FormatInt(recovery.Milliseconds(), 10))
}

var (
	eventOf = nodepeer.EventOf
	str     = nodepeer.Str
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer = nodepeer.LockedBuffer
