package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Credential is a static access key pair; each one is its own account.
type Credential struct {
	AccessKeyID     string `json:"access_key_id" yaml:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret" yaml:"access_key_secret"`
}

// Config configures a Server. Only Credentials is required.
type Config struct {
	// Credentials are the static accounts; at least one. The first one owns the instance whose
	// metadata service hands out RAM role credentials.
	Credentials []Credential
	// DataDir holds object bodies and multipart parts. Empty: a temporary directory, removed by Close.
	DataDir string
	// DefaultRegion is the region of buckets created without a V4 signature. Default "cn-hangzhou".
	DefaultRegion string
	// Regions are the region ids the emulator knows. Default: DefaultRegions().
	Regions []string
	// STSMinDuration is the shortest AssumeRole DurationSeconds accepted (the real service: 900s).
	STSMinDuration time.Duration
	// Clock is the emulator's time: signatures, STS expiry, presign expiry, fault durations.
	// Default time.Now. Latency faults and QPS limits always use real time.
	Clock func() time.Time
	// RAMRoles are the roles the instance metadata service hands out. Default ["ConcourseWorker"].
	RAMRoles []string
	// Logger receives one debug line per request (never secrets or signatures). Default: discard.
	Logger *slog.Logger
	// Seed seeds fault probabilities; 0 picks a random seed.
	Seed uint64

	// ImportDuration is how long ImportImage runs (Creating, Progress linear in time) before the
	// image is Available. Default 2s.
	ImportDuration time.Duration
	// CopyDuration is how long a CopyImage runs once it has a slot. Default 3s.
	CopyDuration time.Duration
	// CopyDurations overrides CopyDuration per {source, destination} region pair.
	CopyDurations map[[2]string]time.Duration
	// CopyConcurrency is how many copies run at once per limit key; the rest wait (Waiting,
	// "0%") and start first in, first out. Default 5.
	CopyConcurrency int
	// CopyLimitBy is the region a copy counts against: CopyLimitBySource (the default: CopyImage
	// is called in the source region) or CopyLimitByDestination.
	CopyLimitBy string
	// ImageVisibilityDelay hides each new image from DescribeImages this long after its creation,
	// like the real API's eventual consistency. Default 0. SetImageVisibilityDelay changes it.
	ImageVisibilityDelay time.Duration
	// DeleteDuration is how long DeleteImage takes: the image stays listed by DescribeImages, and
	// its snapshots stay refused by DeleteSnapshot, until then. Default 200ms.
	DeleteDuration time.Duration
	// KMSKeys are the KMS keys that exist, for CopyImage's KMSKeyId (a key is used in its region).
	KMSKeys []KMSKey
	// Zones are the zones of each region and their instance-type stock. Nil: DefaultZones(Regions).
	Zones []Zone
	// VSwitches, when set, are the only vswitches CreateInstance accepts; they give the instance
	// its VPC (and zone). Unset: any VSwitchId is accepted.
	VSwitches []VSwitch
}

// KMSKey is a KMS key that exists in a region.
type KMSKey struct {
	Region string `json:"region" yaml:"region"`
	ID     string `json:"id" yaml:"id"`
}

// Server is the emulator. It is an http.Handler; use it with httptest.NewServer or an http.Server.
type Server struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	dataDir string
	tempDir bool // dataDir was created by New and is removed by Close
	regions map[string]bool

	accounts map[string]*account // static credentials by access key id
	owner    *account            // the first account: owns the emulated instance

	creds   *credStore
	faults  *faultSet
	limits  *qpsLimits
	journal *journal
	meta    *metadataService
	rpc     map[string]*rpcService // by API Version
	ecs     *ecsState

	mu        sync.Mutex // guards buckets, uploads and uploadSeq
	buckets   map[string]*bucket
	uploads   map[string]*upload
	uploadSeq uint64

	done      chan struct{}
	closeOnce sync.Once
}

// account is the owner of buckets and of the credentials issued to it.
type account struct {
	id          string // 16 digits, like a real Alibaba Cloud account id
	accessKeyID string
	secret      string
}

const defaultRegion = "cn-hangzhou"

// New validates cfg and returns a ready Server.
func New(cfg Config) (*Server, error) {
	if len(cfg.Credentials) == 0 {
		return nil, errors.New("sim: at least one credential is required")
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = defaultRegion
	}
	if len(cfg.Regions) == 0 {
		cfg.Regions = DefaultRegions()
	}
	if cfg.STSMinDuration <= 0 {
		cfg.STSMinDuration = 900 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.RAMRoles == nil {
		cfg.RAMRoles = []string{"ConcourseWorker"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		now:      cfg.Clock,
		log:      cfg.Logger,
		regions:  map[string]bool{},
		accounts: map[string]*account{},
		buckets:  map[string]*bucket{},
		uploads:  map[string]*upload{},
		done:     make(chan struct{}),
	}
	for _, r := range cfg.Regions {
		s.regions[r] = true
	}
	if !s.regions[cfg.DefaultRegion] {
		return nil, fmt.Errorf("sim: default region %q is not one of the regions", cfg.DefaultRegion)
	}
	for i, c := range cfg.Credentials {
		if c.AccessKeyID == "" || c.AccessKeySecret == "" {
			return nil, fmt.Errorf("sim: credential %d: access key id and secret are required", i)
		}
		if strings.HasPrefix(c.AccessKeyID, stsKeyPrefix) {
			return nil, fmt.Errorf("sim: credential %d: access key id must not start with %q (reserved for STS)", i, stsKeyPrefix)
		}
		if _, dup := s.accounts[c.AccessKeyID]; dup {
			return nil, fmt.Errorf("sim: credential %d: duplicate access key id", i)
		}
		a := &account{id: accountID(c.AccessKeyID), accessKeyID: c.AccessKeyID, secret: c.AccessKeySecret}
		s.accounts[c.AccessKeyID] = a
		if s.owner == nil {
			s.owner = a
		}
	}
	if err := s.openDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	s.creds = newCredStore()
	s.faults = newFaultSet(cfg.Seed)
	s.limits = newQPSLimits()
	s.journal = newJournal(journalLimit)
	s.meta = newMetadataService()
	s.rpc = map[string]*rpcService{
		ecsVersion: {name: serviceECS, product: "Ecs", actions: map[string]rpcHandler{}},
		stsVersion: {name: serviceSTS, product: "Sts", actions: map[string]rpcHandler{}},
	}
	s.registerRPC(stsVersion, "AssumeRole", s.assumeRole)
	if err := s.initECS(&cfg); err != nil {
		_ = s.Close() // initECS's error is the one to report; Close only removes the data dir
		return nil, err
	}
	return s, nil
}

func (s *Server) openDataDir(dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "alicloud-sim-")
		if err != nil {
			return fmt.Errorf("sim: creating data dir: %w", err)
		}
		s.dataDir, s.tempDir = d, true
	} else {
		// Each server gets its own subdirectory so two servers (or a rerun) never share bodies.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("sim: creating data dir: %w", err)
		}
		d, err := os.MkdirTemp(dir, "sim-")
		if err != nil {
			return fmt.Errorf("sim: creating data dir: %w", err)
		}
		s.dataDir = d
	}
	for _, sub := range []string{"objects", "parts", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.dataDir, sub), 0o755); err != nil {
			return fmt.Errorf("sim: creating data dir: %w", err)
		}
	}
	return nil
}

// Close ends pending hangs and removes every file the server wrote. Safe to call twice.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = os.RemoveAll(s.dataDir)
	})
	return err
}

// Regions returns the regions the server knows.
func (s *Server) Regions() []string { return append([]string(nil), s.cfg.Regions...) }

// DefaultRegion returns the region of buckets created without a V4 signature.
func (s *Server) DefaultRegion() string { return s.cfg.DefaultRegion }

// Reset clears faults (including the ECS ones: copy failures, the image visibility delay back to
// the configured one), QPS limits, the journal and the image events. State (buckets, objects,
// credentials, images, instances, stock) stays.
func (s *Server) Reset() {
	s.faults.clear()
	s.limits.clear()
	s.journal.clear()
	s.ecs.mu.Lock()
	s.ecs.resetFaults()
	s.ecs.mu.Unlock()
}

// ResetState removes every bucket, object and multipart upload, image, snapshot and instance,
// restores the configured stock, and forgets issued STS credentials, used nonces and metadata
// tokens. Faults, QPS limits and the journal stay. It fails when the emptied data directory
// cannot be made again: every later write would fail.
func (s *Server) ResetState() error {
	s.ecs.mu.Lock()
	s.ecs.resetState()
	s.ecs.mu.Unlock()
	s.mu.Lock()
	s.buckets = map[string]*bucket{}
	s.uploads = map[string]*upload{}
	s.mu.Unlock()
	s.creds.reset()
	s.meta.reset()
	// Bodies are unreferenced now; remove them. Readers that still hold a file open keep reading.
	for _, sub := range []string{"objects", "parts"} {
		dir := filepath.Join(s.dataDir, sub)
		_ = os.RemoveAll(dir) // what stays is unreferenced: it only takes disk until Close
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("sim: resetting state: %w", err)
		}
	}
	return nil
}

// Service names used by faults, QPS limits and the journal.
const (
	serviceOSS      = "oss"
	serviceECS      = "ecs"
	serviceSTS      = "sts"
	serviceMetadata = "metadata"
	serviceRPC      = "rpc" // an RPC request whose Version names no emulated product
)

// call is what the journal learns about one request while it is served.
type call struct {
	service, action, region string
	bucket, key             string
	accessKeyID             string
	errCode                 string
	requestID               string
	faultID                 string
	lostAnswer              bool  // served, then the connection is dropped instead of the answer
	bandwidth               int64 // bytes per second of the bodies; 0: unlimited
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return &call{}
	}
	return c
}

// ServeHTTP routes a request to the admin API, the metadata service, RPC or OSS.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	start := time.Now()
	c := &call{}
	r = r.WithContext(context.WithValue(r.Context(), callKey{}, c))
	rec := &recorder{ResponseWriter: w}
	s.journal.begin()
	defer s.journal.end()
	defer func() {
		d := time.Since(start)
		s.journal.add(Entry{
			Time: s.now().UTC(), Service: c.service, Action: c.action, Region: c.region,
			Bucket: c.bucket, Key: c.key, AccessKeyID: c.accessKeyID,
			Status: rec.status, ErrorCode: c.errCode, RequestID: c.requestID,
			Duration: d, Fault: c.faultID,
		})
		s.log.Debug("request", "service", c.service, "action", c.action, "region", c.region,
			"bucket", c.bucket, "key", c.key, "access_key_id", c.accessKeyID,
			"status", rec.status, "code", c.errCode, "request_id", c.requestID,
			"duration", d.Round(time.Microsecond), "fault", c.faultID)
	}()
	switch {
	case isMetadataRequest(r):
		s.serveMetadata(rec, r)
	case r.URL.Query().Has("Action") && r.URL.Query().Has("Version"):
		s.serveRPC(rec, r)
	default:
		s.serveOSS(rec, r)
	}
}

// recorder remembers the status written; Unwrap lets http.ResponseController reach the
// connection for the reset and hang faults.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return io.Copy(r.ResponseWriter, src)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// randomHex returns n random bytes in upper-case hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead (Go 1.24)
	return strings.ToUpper(hex.EncodeToString(b))
}

// ossRequestID looks like OSS's: 24 upper-case hex digits.
func ossRequestID() string { return randomHex(12) }

// rpcRequestID looks like the POP gateway's: an upper-case UUID.
func rpcRequestID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// accountID derives a stable 16-digit account id from an access key id.
func accountID(accessKeyID string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(accessKeyID)) // a hash never fails a write
	return fmt.Sprintf("1%015d", h.Sum64()%1_000_000_000_000_000)
}
