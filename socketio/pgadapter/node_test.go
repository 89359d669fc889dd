package pgadapter

import (
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/socketio/internal/adaptertest/nodepeer"
)

// nodeDir is the folder of the Node.js helper scripts.
var nodeDir = filepath.Join("..", "..", "e2e", "postgres")

// nodeModules are the npm packages the Node.js node needs.
var nodeModules = []string{"@socket.io/postgres-adapter", "pg", "socket.io", "socket.io-client"}

// needNode skips the test unless node and the npm packages of the Node.js
// node can be found.
func needNode(t *testing.T) {
	t.Helper()
	nodepeer.Need(t, nodeDir, nodeModules, "@socket.io/postgres-adapter 0.5.0, pg 8.13.1")
}

// nodeProc is a running e2e/postgres/postgres-node.js.
type nodeProc = nodepeer.Proc

// startNode starts the Node.js node on the test database with the table
// and channel prefix name, and waits until it listens.
func startNode(t *testing.T, name string) *nodeProc {
	t.Helper()
	return nodepeer.Start(t, nodeDir, "postgres-node.js", "PG_URL="+testDSN(), "NAME="+name, "HEARTBEAT_MS=500")
}

var (
	eventOf = nodepeer.EventOf
	str     = nodepeer.Str
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer = nodepeer.LockedBuffer
