// Package metrics exposes the state and counters of a socketio.Server as
// Prometheus metrics. The server keeps plain atomic counters on its hot
// paths; this package reads them, and the gauges (sessions, sockets,
// rooms, queued bytes), only when Prometheus scrapes:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(io))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Every metric name starts with "socketio_"; docs/socketio.md lists them.
package metrics

import (
	"strconv"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector of one socketio.Server. Each
// scrape calls Server.Stats once.
type Collector struct {
	srv   *socketio.Server
	descs descs
}

type descs struct {
	sessions, queuedBytes, opened, closed, refused, upgrades, upgradeFailures, wsHandshakeFailures, slowConsumer *prometheus.Desc
	sockets, rooms                                                                                               *prometheus.Desc
	packetsIn, bytesIn, packetsOut, bytesOut                                                                     *prometheus.Desc
	broadcasts, recipients, connectErrors, ackTimeouts, disconnects                                              *prometheus.Desc
	requests, requestErrors, requestDuration                                                                     *prometheus.Desc
}

// Options configure a Collector.
type Options struct {
	// ConstLabels are added to every metric (say, {"server": "chat"}
	// when one process registers collectors of two servers).
	ConstLabels prometheus.Labels
}

// NewCollector returns a collector of srv's metrics; register it with a
// prometheus.Registerer. Options are optional: the first one given is
// used.
func NewCollector(srv *socketio.Server, opts ...Options) *Collector {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("socketio_"+name, help, labels, o.ConstLabels)
	}
	return &Collector{srv: srv, descs: descs{
		sessions:            d("engine_sessions", "Open Engine.IO sessions, by current transport.", "transport"),
		queuedBytes:         d("engine_queued_bytes", "Bytes queued to the open sessions and not yet written."),
		opened:              d("engine_sessions_opened_total", "Engine.IO sessions opened (successful handshakes)."),
		closed:              d("engine_sessions_closed_total", "Engine.IO sessions closed, by reason.", "reason"),
		refused:             d("engine_request_errors_total", "Engine.IO requests refused (handshakes and later requests), by error code.", "code", "message"),
		upgrades:            d("engine_upgrades_total", "Sessions upgraded from polling to WebSocket."),
		upgradeFailures:     d("engine_upgrade_failures_total", "Upgrades to WebSocket that were started and did not complete."),
		wsHandshakeFailures: d("engine_websocket_handshake_failures_total", "WebSocket opening handshakes (new sessions or upgrades) refused as invalid."),
		slowConsumer:        d("slow_consumer_closes_total", "Sessions closed because their outbound queue passed MaxQueuedBytes."),
		sockets:             d("sockets", "Connected sockets, by namespace.", "namespace"),
		rooms:               d("rooms", "Rooms with at least one socket of this node (not counting each socket's own room), by namespace.", "namespace"),
		packetsIn:           d("packets_received_total", "Socket.IO packets received, by type.", "type"),
		bytesIn:             d("received_bytes_total", "Bytes of the Socket.IO packets received (with binary attachments), by type.", "type"),
		packetsOut:          d("packets_sent_total", "Socket.IO packets queued to clients (a broadcast counts once per recipient), by type.", "type"),
		bytesOut:            d("sent_bytes_total", "Bytes of the Socket.IO packets queued to clients (with binary attachments), by type.", "type"),
		broadcasts:          d("broadcasts_total", "Packets delivered by the adapters to this node's sockets (broadcasts)."),
		recipients:          d("broadcast_recipients_total", "Sockets reached by the broadcasts."),
		connectErrors:       d("connect_errors_total", "Namespace connections refused with CONNECT_ERROR (middleware error or unknown namespace)."),
		ackTimeouts:         d("ack_timeouts_total", "Acknowledgements awaited in vain until a timeout."),
		disconnects:         d("disconnects_total", "Sockets disconnected, by reason.", "reason"),
		requests:            d("adapter_requests_total", "Requests sent by the adapters to the other nodes and waited on, by kind.", "kind"),
		requestErrors:       d("adapter_request_errors_total", "Adapter requests that failed, by kind and error (timeout or other).", "kind", "error"),
		requestDuration:     d("adapter_request_duration_seconds", "Duration of the adapter requests to the other nodes, by kind.", "kind"),
	}}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.descs
	for _, x := range []*prometheus.Desc{
		d.sessions, d.queuedBytes, d.opened, d.closed, d.refused, d.upgrades, d.upgradeFailures, d.wsHandshakeFailures, d.slowConsumer,
		d.sockets, d.rooms, d.packetsIn, d.bytesIn, d.packetsOut, d.bytesOut,
		d.broadcasts, d.recipients, d.connectErrors, d.ackTimeouts, d.disconnects,
		d.requests, d.requestErrors, d.requestDuration,
	} {
		ch <- x
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	d := &c.descs
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}

	e := st.Engine
	for transport, n := range e.Sessions {
		gauge(d.sessions, float64(n), transport)
	}
	gauge(d.queuedBytes, float64(e.QueuedBytes))
	counter(d.opened, e.Opened)
	for reason, n := range e.Closes {
		counter(d.closed, n, string(reason))
	}
	for code, n := range e.Refused {
		counter(d.refused, n, strconv.Itoa(code), engine.ErrorMessage(code))
	}
	counter(d.upgrades, e.Upgrades)
	counter(d.upgradeFailures, e.UpgradeFailures)
	counter(d.wsHandshakeFailures, e.WebSocketHandshakeFailures)
	counter(d.slowConsumer, e.Closes[engine.ReasonSlowConsumer])

	requests := map[string]*adapter.RequestStats{}
	var kinds []string
	for _, ns := range st.Namespaces {
		gauge(d.sockets, float64(ns.Sockets), ns.Name)
		if ns.Rooms >= 0 {
			gauge(d.rooms, float64(ns.Rooms), ns.Name)
		}
		for _, r := range ns.Requests {
			sum := requests[r.Kind]
			if sum == nil {
				sum = &adapter.RequestStats{Kind: r.Kind, Buckets: make([]uint64, len(r.Buckets))}
				requests[r.Kind] = sum
				kinds = append(kinds, r.Kind)
			}
			sum.Count += r.Count
			sum.Timeouts += r.Timeouts
			sum.Errors += r.Errors
			sum.Total += r.Total
			for i := range min(len(sum.Buckets), len(r.Buckets)) {
				sum.Buckets[i] += r.Buckets[i]
			}
		}
	}
	for t := parser.Connect; t <= parser.BinaryAck; t++ {
		name := typeLabel(t)
		in, out := st.Received[t], st.Sent[t]
		counter(d.packetsIn, in.Packets, name)
		counter(d.bytesIn, in.Bytes, name)
		counter(d.packetsOut, out.Packets, name)
		counter(d.bytesOut, out.Bytes, name)
	}
	counter(d.broadcasts, st.Broadcasts)
	counter(d.recipients, st.BroadcastRecipients)
	counter(d.connectErrors, st.ConnectErrors)
	counter(d.ackTimeouts, st.AckTimeouts)
	for reason, n := range st.Disconnects {
		counter(d.disconnects, n, string(reason))
	}
	for _, kind := range kinds {
		r := requests[kind]
		counter(d.requests, r.Count, kind)
		counter(d.requestErrors, r.Timeouts, kind, "timeout")
		counter(d.requestErrors, r.Errors, kind, "other")
		buckets := make(map[float64]uint64, len(r.Buckets))
		for i, n := range r.Buckets {
			if i < len(adapter.RequestBuckets) {
				buckets[adapter.RequestBuckets[i].Seconds()] = n
			}
		}
		ch <- prometheus.MustNewConstHistogram(d.requestDuration, r.Count, r.Total.Seconds(), buckets, kind)
	}
}

// typeLabel is the "type" label of a packet type: "connect", "event",
// "binary_event", ...
func typeLabel(t parser.Type) string {
	switch t {
	case parser.Connect:
		return "connect"
	case parser.Disconnect:
		return "disconnect"
	case parser.Event:
		return "event"
	case parser.Ack:
		return "ack"
	case parser.ConnectError:
		return "connect_error"
	case parser.BinaryEvent:
		return "binary_event"
	case parser.BinaryAck:
		return "binary_ack"
	}
	return strconv.Itoa(int(t))
}

var _ prometheus.Collector = (*Collector)(nil)
