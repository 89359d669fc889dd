// Package benchresult is the JSON line cmd/chatbench -json prints for a
// run, which cmd/benchreport reads back: one type for the writer and the
// reader.
package benchresult

// Report is the one-line JSON form of a run's result that cmd/chatbench
// -json adds after its text report: the figures of the text, in plain
// units (bytes, seconds, milliseconds, shares of one core), for tools such
// as cmd/benchreport. Fields a mode does not measure are left out.
type Report struct {
	Label    string `json:"label,omitempty"`
	Mode     string `json:"mode"`
	Proto    string `json:"proto"`
	Client   string `json:"client,omitempty"`
	Error    string `json:"error,omitempty"`
	N        int    `json:"n"`
	Accounts int    `json:"accounts,omitempty"`

	// idle
	Opened          int      `json:"opened,omitempty"`
	ConnectSeconds  float64  `json:"connectSeconds,omitempty"`
	ConnsPerSec     float64  `json:"connsPerSec,omitempty"`
	BaseRSS         int64    `json:"baseRSS,omitempty"`
	RSS             int64    `json:"rss,omitempty"`
	RSSPerConn      *float64 `json:"rssPerConn,omitempty"`
	HeapPerConn     *float64 `json:"heapPerConn,omitempty"`
	PreAccountsRSS  int64    `json:"preAccountsRSS,omitempty"`
	StackPerConn    *float64 `json:"stackPerConn,omitempty"`
	ServerCPU       *float64 `json:"serverCPU,omitempty"`
	LoadCPU         float64  `json:"loadCPU"`
	OtherCPU        *float64 `json:"otherCPU,omitempty"`
	ServerRSS       int64    `json:"serverRSS,omitempty"`
	ServerCPUPer1k  *float64 `json:"serverCPUPer1000,omitempty"`
	Senders         int      `json:"senders,omitempty"`
	Polling         int      `json:"polling,omitempty"`
	Rate            float64  `json:"rate,omitempty"`
	DurationSeconds float64  `json:"durationSeconds,omitempty"`

	// fanout
	Sent             int64    `json:"sent,omitempty"`
	SendErrors       int64    `json:"sendErrors,omitempty"`
	Expected         int64    `json:"expected,omitempty"`
	Delivered        int64    `json:"delivered,omitempty"`
	Lost             *int64   `json:"lost,omitempty"`
	Measured         int64    `json:"measured,omitempty"`
	DeliveriesPerSec float64  `json:"deliveriesPerSec,omitempty"`
	Acked            int64    `json:"acked,omitempty"`
	AckErrors        int64    `json:"ackErrors,omitempty"`
	AcksMissing      *int64   `json:"acksMissing,omitempty"`
	P50Ms            *float64 `json:"p50Ms,omitempty"`
	P90Ms            *float64 `json:"p90Ms,omitempty"`
	P99Ms            *float64 `json:"p99Ms,omitempty"`
	P999Ms           *float64 `json:"p999Ms,omitempty"`
	MaxMs            *float64 `json:"maxMs,omitempty"`

	// storm
	Back           int     `json:"back,omitempty"`
	Attempts       int64   `json:"attempts,omitempty"`
	DownSeconds    float64 `json:"downSeconds,omitempty"`
	AllBackSeconds float64 `json:"allBackSeconds,omitempty"`
}

// OK reports whether the run completed without an error (false for nil).
func (r *Report) OK() bool { return r != nil && r.Error == "" }
