package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a request.
type FaultKind string

const (
	// FaultThrottling answers the service's throttling error (OSS 503 TotalQpsLimitExceeded or
	// MetaOperationQpsLimitExceeded; ECS/STS 400 Throttling; metadata 429).
	FaultThrottling FaultKind = "throttling"
	// FaultInternalError answers 500 InternalError.
	FaultInternalError FaultKind = "internal-error"
	// FaultServiceUnavailable answers 503 ServiceUnavailable.
	FaultServiceUnavailable FaultKind = "service-unavailable"
	// FaultLatency delays the request by Latency, then serves it normally.
	FaultLatency FaultKind = "latency"
	// FaultReset closes the TCP connection abruptly (RST) without an answer.
	FaultReset FaultKind = "reset"
	// FaultHang never answers: it waits until the client gives up, the server closes, or Latency
	// (when set) has passed, then drops the connection.
	FaultHang FaultKind = "hang"
	// FaultLostAnswer serves the request (its effect happens) and then closes the connection
	// instead of answering, as when a response is lost on the way back. ECS, STS and OSS.
	FaultLostAnswer FaultKind = "lost-answer"
	// FaultBandwidth serves the request normally but moves its request and response bodies at
	// most Bandwidth bytes per second, as over a slow link. OSS only.
	FaultBandwidth FaultKind = "bandwidth"
)

// Fault describes a failure to inject into matching requests. A request is matched by the first
// fault (in the order added) that fires for it.
type Fault struct {
	// Service is "oss", "ecs", "sts", "metadata" or "" for any.
	Service string
	// Action is the API action ("PutObject", "AssumeRole", "DescribeImages", …) or "" for any.
	// Metadata actions: GetMetadataToken, ListRoles, GetRoleCredentials, GetMetadata.
	Action string
	// Nth fires on the nth matching call only (1-based); 0 fires on every matching call.
	Nth int
	// Probability fires with this probability (0 < p < 1); 0 means always.
	Probability float64
	// Count stops the fault after it fired this many times; 0 is unlimited.
	Count int
	// Duration stops the fault this long (by Config.Clock) after it was added; 0 is forever.
	Duration time.Duration
	// Kind is what happens.
	Kind FaultKind
	// Latency is the delay of a latency fault, and the longest wait of a hang (0: until the
	// client gives up).
	Latency time.Duration
	// Bandwidth is the bytes per second of a bandwidth fault.
	Bandwidth int64
}

// faultJSON is the admin API form: durations as Go duration strings ("2s") or nanoseconds.
type faultJSON struct {
	ID          string          `json:"id,omitempty"`
	Service     string          `json:"service"`
	Action      string          `json:"action"`
	Nth         int             `json:"nth"`
	Probability float64         `json:"probability"`
	Count       int             `json:"count"`
	Duration    json.RawMessage `json:"duration,omitempty"`
	Kind        FaultKind       `json:"kind"`
	Latency     json.RawMessage `json:"latency,omitempty"`
	Bandwidth   int64           `json:"bandwidth,omitempty"`
}

// MarshalJSON writes durations as strings ("1.5s").
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultToJSON("", f))
}

func faultToJSON(id string, f Fault) faultJSON {
	return faultJSON{
		ID: id, Service: f.Service, Action: f.Action, Nth: f.Nth, Probability: f.Probability,
		Count: f.Count, Kind: f.Kind, Bandwidth: f.Bandwidth,
		Duration: json.RawMessage(strconv.Quote(f.Duration.String())),
		Latency:  json.RawMessage(strconv.Quote(f.Latency.String())),
	}
}

// UnmarshalJSON reads durations as strings ("2s", "150ms") or integer nanoseconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := j.fault()
	if err != nil {
		return err
	}
	*f = v
	return nil
}

func (j faultJSON) fault() (Fault, error) {
	d, err := parseJSONDuration(j.Duration)
	if err != nil {
		return Fault{}, fmt.Errorf("fault duration: %w", err)
	}
	l, err := parseJSONDuration(j.Latency)
	if err != nil {
		return Fault{}, fmt.Errorf("fault latency: %w", err)
	}
	return Fault{Service: j.Service, Action: j.Action, Nth: j.Nth, Probability: j.Probability,
		Count: j.Count, Duration: d, Kind: j.Kind, Latency: l, Bandwidth: j.Bandwidth}, nil
}

func parseJSONDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("want a duration string like \"2s\" or integer nanoseconds, got %s", raw)
	}
	return time.Duration(n), nil
}

func (f Fault) validate() error {
	switch f.Service {
	case "", serviceOSS, serviceECS, serviceSTS, serviceMetadata:
	default:
		return fmt.Errorf("fault service %q: want oss, ecs, sts, metadata or empty", f.Service)
	}
	switch f.Kind {
	case FaultThrottling, FaultInternalError, FaultServiceUnavailable, FaultLatency, FaultReset, FaultHang:
	case FaultLostAnswer:
		if f.Service != serviceECS && f.Service != serviceSTS && f.Service != serviceOSS {
			return fmt.Errorf("a lost-answer fault is for service ecs, sts or oss, not %q", f.Service)
		}
	case FaultBandwidth:
		if f.Service != serviceOSS {
			return fmt.Errorf("a bandwidth fault is for service oss, not %q", f.Service)
		}
		if f.Bandwidth <= 0 {
			return fmt.Errorf("a bandwidth fault needs a bandwidth (bytes per second)")
		}
	default:
		return fmt.Errorf("fault kind %q: want throttling, internal-error, service-unavailable, latency, reset, hang, lost-answer or bandwidth", f.Kind)
	}
	if f.Nth < 0 || f.Count < 0 || f.Duration < 0 || f.Latency < 0 {
		return fmt.Errorf("fault nth, count, duration and latency must not be negative")
	}
	if f.Probability < 0 || f.Probability > 1 {
		return fmt.Errorf("fault probability %v: want 0..1", f.Probability)
	}
	if f.Kind == FaultLatency && f.Latency == 0 {
		return fmt.Errorf("a latency fault needs a latency")
	}
	return nil
}

type activeFault struct {
	id    string
	f     Fault
	added time.Time
	seen  int // matching calls since added
	fired int
}

type faultSet struct {
	mu     sync.Mutex
	next   int
	faults []*activeFault
	rnd    *rand.Rand
}

func newFaultSet(seed uint64) *faultSet {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &faultSet{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// AddFault adds a fault and returns its id. An invalid fault is ignored and returns "" — use
// the admin API or ValidateFault to learn why.
func (s *Server) AddFault(f Fault) string {
	id, err := s.addFault(f)
	if err != nil {
		s.log.Error("fault rejected", "error", err)
		return ""
	}
	return id
}

// ValidateFault reports what is wrong with a fault, if anything.
func ValidateFault(f Fault) error { return f.validate() }

func (s *Server) addFault(f Fault) (string, error) {
	if err := f.validate(); err != nil {
		return "", err
	}
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.next++
	id := "fault-" + strconv.Itoa(fs.next)
	fs.faults = append(fs.faults, &activeFault{id: id, f: f, added: s.now()})
	return id, nil
}

// RemoveFault removes one fault; it reports whether the fault existed.
func (s *Server) RemoveFault(id string) bool {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, af := range fs.faults {
		if af.id == id {
			fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.faults.clear() }

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
}

type listedFault struct {
	faultJSON
	Fired int `json:"fired"`
	Seen  int `json:"seen"`
}

func (fs *faultSet) list() []listedFault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]listedFault, 0, len(fs.faults))
	for _, af := range fs.faults {
		out = append(out, listedFault{faultJSON: faultToJSON(af.id, af.f), Fired: af.fired, Seen: af.seen})
	}
	return out
}

// pick returns the fault that fires for this call, if any. Every matching fault counts the call.
func (fs *faultSet) pick(service, action string, now time.Time) (string, Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var winner *activeFault
	for _, af := range fs.faults {
		f := af.f
		if (f.Service != "" && f.Service != service) || (f.Action != "" && f.Action != action) {
			continue
		}
		af.seen++
		if winner != nil {
			continue
		}
		if f.Duration > 0 && now.Sub(af.added) > f.Duration {
			continue
		}
		if f.Count > 0 && af.fired >= f.Count {
			continue
		}
		if f.Nth > 0 && af.seen != f.Nth {
			continue
		}
		if f.Probability > 0 && fs.rnd.Float64() >= f.Probability {
			continue
		}
		af.fired++
		winner = af
	}
	if winner == nil {
		return "", Fault{}, false
	}
	return winner.id, winner.f, true
}

// inject applies faults and QPS limits to a call whose service and action are known. It returns
// true when the request has been answered (or the connection dropped) and must not be served; an
// error kind is handed to answer, which writes it in the service's format.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, service, action string, answer func(FaultKind)) bool {
	c := callFrom(r.Context())
	if !s.limits.allow(service, action) {
		c.faultID = "qps-limit"
		answer(FaultThrottling)
		return true
	}
	id, f, ok := s.faults.pick(service, action, s.now())
	if !ok {
		return false
	}
	c.faultID = id
	switch f.Kind {
	case FaultLatency:
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		case <-s.done:
			return true
		}
	case FaultReset:
		resetConnection(w)
		return true
	case FaultLostAnswer:
		c.lostAnswer = true
		return false
	case FaultBandwidth:
		c.bandwidth = f.Bandwidth
		return false
	case FaultHang:
		var timeout <-chan time.Time
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			defer t.Stop()
			timeout = t.C
		}
		// The server notices a client that gave up only once the body is read: read it (a
		// client that writes its body into a hung server sees it go, then no answer).
		gone := make(chan struct{})
		go func() {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				close(gone)
			}
		}()
		select {
		case <-r.Context().Done():
		case <-gone:
		case <-s.done:
		case <-timeout:
		}
		dropConnection(w)
		return true
	default:
		answer(f.Kind)
		return true
	}
}

// resetConnection closes the client connection with SO_LINGER 0, so the peer sees a RST.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	raw := conn
	for {
		w, ok := raw.(interface{ NetConn() net.Conn }) // a TLS or sniffed connection
		if !ok {
			break
		}
		raw = w.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // without it the peer sees a FIN, not a RST: still a dropped answer
	}
	_ = conn.Close() // the point is to end the connection: failing means it already ended
}

// dropConnection closes the client connection without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close() // the point is to end the connection: failing means it already ended
}

// qpsLimits are token buckets per service and action ("" action: the whole service).
type qpsLimits struct {
	mu      sync.Mutex
	buckets map[[2]string]*tokenBucket
}

type tokenBucket struct {
	rate   float64 // tokens per second
	tokens float64
	last   time.Time
}

func newQPSLimits() *qpsLimits { return &qpsLimits{buckets: map[[2]string]*tokenBucket{}} }

// SetQPS limits calls to service/action (action "" limits the whole service) to qps per second,
// with a burst of max(1, qps). Calls beyond the rate get the service's throttling error.
// qps <= 0 removes the limit.
func (s *Server) SetQPS(service, action string, qps float64) {
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{service, action}
	if qps <= 0 {
		delete(l.buckets, k)
		return
	}
	l.buckets[k] = &tokenBucket{rate: qps, tokens: max(1, qps), last: time.Now()}
}

func (l *qpsLimits) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buckets = map[[2]string]*tokenBucket{}
}

// allow takes a token from every bucket that covers the call; all must have one.
func (l *qpsLimits) allow(service, action string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	var covering []*tokenBucket
	for _, k := range [][2]string{{service, action}, {service, ""}} {
		if b, ok := l.buckets[k]; ok {
			b.tokens = min(max(1, b.rate), b.tokens+now.Sub(b.last).Seconds()*b.rate)
			b.last = now
			covering = append(covering, b)
		}
		if action == "" {
			break
		}
	}
	for _, b := range covering {
		if b.tokens < 1 {
			return false
		}
	}
	for _, b := range covering {
		b.tokens--
	}
	return true
}
