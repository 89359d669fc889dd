package socketio

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Socket.IO protocol v4, spoken by socket.io-client 2.x over Engine.IO v3
// (accepted with Options.AllowEIO3). Its packets are encoded as in v5;
// what differs is the namespace handshake:
//
//   - the client is in the main namespace "/" as soon as the Engine.IO
//     session opens, without sending CONNECT;
//   - a CONNECT carries no payload: the client's query for that namespace
//     follows its name ("/admin?token=x"), and becomes the handshake's
//     auth, as an object of strings;
//   - the server's CONNECT answer has no {"sid"} payload;
//   - a socket's id is the Engine.IO session id, prefixed with the
//     namespace and '#' outside "/" (the client computes it so);
//   - connection state recovery does not apply;
//   - a CONNECT_ERROR carries the error's data, or else its message, as
//     is: "Invalid namespace" is a JSON string, not an object.

// v4ConnectArgs splits the namespace of a v4 CONNECT into the name and
// the auth object made of its query.
func v4ConnectArgs(nsp string) (string, json.RawMessage) {
	name, query, ok := strings.Cut(nsp, "?")
	if !ok {
		return name, nil
	}
	vals, _ := url.ParseQuery(query)
	auth := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) > 0 {
			auth[k] = v[0]
		}
	}
	b, err := json.Marshal(auth)
	if err != nil {
		return name, nil
	}
	return name, b
}

// v4SocketID is the id of a v4-protocol client's socket in namespace nsp:
// the Engine.IO session id, prefixed with "nsp#" outside the main
// namespace, as the client itself derives it.
func v4SocketID(nsp, sid string) string {
	if nsp == "/" {
		return sid
	}
	return nsp + "#" + sid
}

// v4ConnectErrorData is the CONNECT_ERROR payload for a v4 client: the
// data of a *ConnectError when it has some, else the error's message.
func v4ConnectErrorData(err error) json.RawMessage {
	var ce *ConnectError
	if errors.As(err, &ce) && ce.Data != nil {
		if b, mErr := json.Marshal(ce.Data); mErr == nil {
			return b
		}
	}
	b, _ := json.Marshal(err.Error())
	return b
}
