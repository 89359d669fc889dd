package socketio

import (
	"testing"

	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser"
)

// The counters of a broadcast, a received packet and a packet sent to one
// socket.
func TestServerStatsCounters(t *testing.T) {
	var st serverStats
	frames := []*engine.Frame{engine.NewFrame([]byte(`2["m","x"]`), false), engine.NewFrame([]byte{1, 2, 3}, true)}
	st.delivered(parser.BinaryEvent, frames, 10)
	st.delivered(parser.Event, frames[:1], 0)
	st.received(parser.Event, 7)
	st.receivedBytes(parser.Event, 3)
	st.sent([]byte(`31["ok"]`), [][]byte{{1}}, 1)
	st.sent(nil, nil, 1)
	st.disconnected(ReasonPingTimeout)
	st.disconnected("made up")
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"broadcasts", st.broadcasts.Load(), 2},
		{"recipients", st.recipients.Load(), 10},
		{"binary events sent", st.out[parser.BinaryEvent].packets.Load(), 10},
		{"their bytes", st.out[parser.BinaryEvent].bytes.Load(), uint64(10 * (len(`2["m","x"]`) + 3))},
		{"events received", st.in[parser.Event].packets.Load(), 1},
		{"their bytes", st.in[parser.Event].bytes.Load(), 10},
		{"acks sent", st.out[parser.Ack].packets.Load(), 1},
		{"their bytes", st.out[parser.Ack].bytes.Load(), uint64(len(`31["ok"]`) + 1)},
		{"ping timeouts", st.disconnects[3].Load(), 1},
		{"other reasons", st.disconnects[len(disconnectReasons)].Load(), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}

// BenchmarkStatsBroadcast is what the counters add to one broadcast,
// whatever its number of recipients.
func BenchmarkStatsBroadcast(b *testing.B) {
	var st serverStats
	frames := []*engine.Frame{engine.NewFrame([]byte(`2["msg","hello",42]`), false)}
	for b.Loop() {
		st.delivered(parser.Event, frames, 1000)
	}
}

// BenchmarkStatsPacket is what the counters add to a packet received or
// sent to one socket.
func BenchmarkStatsPacket(b *testing.B) {
	var st serverStats
	text := []byte(`2["msg","hello",42]`)
	for b.Loop() {
		st.received(parser.Event, len(text))
	}
}
