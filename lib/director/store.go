package director

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// Objects is the storage envs live in; *alicloud.Store is one.
type Objects interface {
	List(ctx context.Context, prefix string) ([]alicloud.ObjectInfo, error)
	Get(ctx context.Context, name string) ([]byte, alicloud.ObjectInfo, error)
	CreateIfAbsent(ctx context.Context, name string, body []byte, opts alicloud.PutOptions) (bool, error)
	Put(ctx context.Context, name string, body []byte, opts alicloud.PutOptions) (alicloud.ObjectInfo, error)
	Upload(ctx context.Context, name string, r io.Reader, opts alicloud.UploadOptions) (alicloud.ObjectInfo, error)
	DownloadFile(ctx context.Context, name, path string, opts alicloud.TransferOptions) (alicloud.ObjectInfo, error)
	Delete(ctx context.Context, name string) error
	SetPublicRead(ctx context.Context, name string, public bool) error
}

// Store holds every env under its objects' prefix. Layout, per env:
//
//	<env>/revisions/0000000042.json   revision 42 (written last, never replaced)
//	<env>/parts/<sha256>              a revision's large parts, content-addressed, written first
//	<env>/lock                        the operation lock of a create, destroy or register
//	<env>/lease                       the lease, while one is held
//
// Every object is written private, whatever the bucket's default.
type Store struct {
	Objects Objects
	Clock   func() time.Time // time.Now when nil
}

// Status is what a revision says of its env.
type Status string

// The statuses a revision records.
const (
	StatusCreated     Status = "created"     // create-env succeeded: the director runs
	StatusFailed      Status = "failed"      // create-env or delete-env failed: state as bosh left it
	StatusInterrupted Status = "interrupted" // the run was stopped (SIGTERM): state as bosh left it
	StatusDestroyed   Status = "destroyed"   // delete-env succeeded: a tombstone
	StatusRegistered  Status = "registered"  // a director created elsewhere, recorded
	StatusConflict    Status = "conflict"    // written over a newer revision than its base: look at both
	StatusClaimed     Status = "claimed"     // a lease was taken; the env is as before
	StatusReleased    Status = "released"    // the lease was given back; the env is as before
)

// Part is one large piece of a revision, stored as its own object before the revision.
type Part struct {
	Object string `json:"object"` // relative to the store's prefix
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Secret bool   `json:"secret,omitempty"` // restored 0600 (a private key)
}

// Revision is one immutable record of an env after a change.
type Revision struct {
	Env      string          `json:"env"`
	Number   int             `json:"revision"`
	Base     int             `json:"base"` // the revision the writer started from; 0: none
	Status   Status          `json:"status"`
	Action   string          `json:"action"`
	Time     time.Time       `json:"time"`
	Who      string          `json:"who"`
	Error    string          `json:"error,omitempty"`
	Parts    map[string]Part `json:"parts,omitempty"` // state, creds, manifest, files/<path>, cache
	Metadata json.RawMessage `json:"metadata,omitempty"`
	Lease    *Lease          `json:"lease,omitempty"`
	// LightStemcells are the image ids of light stemcells create-env used, kept out of delete-env.
	LightStemcells []string `json:"light_stemcells,omitempty"`
	CacheKey       string   `json:"cache_key,omitempty"` // the CPI release sha the compiled packages belong to
}

// Destroyed reports whether the revision is a tombstone.
func (r Revision) Destroyed() bool { return r.Status == StatusDestroyed }

// Live reports whether the revision's state may hold cloud resources.
func (r Revision) Live() bool {
	_, ok := r.Parts[PartState]
	return ok && !r.Destroyed()
}

// Names of the parts every env revision may have.
const (
	PartState    = "state"    // director-state.json
	PartCreds    = "creds"    // creds.yml
	PartManifest = "manifest" // director.yml, every ops file applied, cloud credentials unresolved
	PartCache    = "cache"    // compiled CPI packages (tar)
)

var envPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// CheckEnvName refuses a name that cannot be an env's folder.
func CheckEnvName(name string) error {
	if !envPattern.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("env name %q: expected 1-63 lowercase letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return nil
}

func (s Store) now() time.Time {
	if s.Clock != nil {
		return s.Clock().UTC()
	}
	return time.Now().UTC()
}

func revisionsPrefix(env string) string { return env + "/revisions/" }

// RevisionName is the object of revision n: zero-padded, so listing order is numeric order.
func RevisionName(env string, n int) string {
	return fmt.Sprintf("%s%010d.json", revisionsPrefix(env), n)
}

// Numbers lists the env's revision numbers, ascending; none for an env never written.
func (s Store) Numbers(ctx context.Context, env string) ([]int, error) {
	listed, err := s.Objects.List(ctx, revisionsPrefix(env))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, o := range listed {
		base := strings.TrimSuffix(path.Base(o.Name), ".json")
		n, err := strconv.Atoi(base)
		if err != nil || n <= 0 || path.Dir(o.Name)+"/" != revisionsPrefix(env) {
			continue // not ours: nothing the pack writes
		}
		out = append(out, n)
	}
	// Zero padding sorts the listing, but an unpadded name written by hand would not be.
	slices.Sort(out)
	return out, nil
}

// Latest returns the env's newest revision; ok is false when it has none.
func (s Store) Latest(ctx context.Context, env string) (Revision, bool, error) {
	numbers, err := s.Numbers(ctx, env)
	if err != nil || len(numbers) == 0 {
		return Revision{}, false, err
	}
	r, err := s.Read(ctx, env, numbers[len(numbers)-1])
	return r, err == nil, err
}

// Condition returns the env's newest revision that changed the env itself, passing over the
// revisions that change only its lease (claimed, released): what the env is now. ok is false
// when no revision ever changed it (never written, or only claimed).
func (s Store) Condition(ctx context.Context, env string) (Revision, bool, error) {
	numbers, err := s.Numbers(ctx, env)
	if err != nil {
		return Revision{}, false, err
	}
	for i := len(numbers) - 1; i >= 0; i-- {
		r, err := s.Read(ctx, env, numbers[i])
		if err != nil {
			return Revision{}, false, err
		}
		if r.Status != StatusClaimed && r.Status != StatusReleased {
			return r, true, nil
		}
	}
	return Revision{}, false, nil
}

// Read returns revision n of env.
func (s Store) Read(ctx context.Context, env string, n int) (Revision, error) {
	body, _, err := s.Objects.Get(ctx, RevisionName(env, n))
	if err != nil {
		if alicloud.IsNotFound(err) {
			return Revision{}, fmt.Errorf("env %s has no revision %d", env, n)
		}
		return Revision{}, err
	}
	var r Revision
	if err := json.Unmarshal(body, &r); err != nil {
		return Revision{}, fmt.Errorf("reading revision %d of env %s: %w", n, env, err)
	}
	if r.Env != env || r.Number != n {
		return Revision{}, fmt.Errorf("revision object %s records env %q revision %d: refusing a record whose name differs from its key", RevisionName(env, n), r.Env, r.Number)
	}
	return r, nil
}

// PutPart stores data as a part of env's next revision (content-addressed, private) and returns it.
func (s Store) PutPart(ctx context.Context, env string, data []byte) (Part, error) {
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	p := Part{Object: env + "/parts/" + digest, SHA256: digest, Size: int64(len(data))}
	// Content-addressed: an existing object already holds these bytes (and was made private).
	if _, err := s.Objects.CreateIfAbsent(ctx, p.Object, data, alicloud.PutOptions{Private: true}); err != nil {
		return Part{}, err
	}
	return p, nil
}

func sha256File(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// ReadPart returns a part's bytes, verified against its digest.
func (s Store) ReadPart(ctx context.Context, p Part) ([]byte, error) {
	data, _, err := s.Objects.Get(ctx, p.Object)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != p.SHA256 {
		return nil, fmt.Errorf("part %s has sha256 %s, its revision records %s", p.Object, got, p.SHA256)
	}
	return data, nil
}

// ErrConflict is returned (wrapped) when a revision's base is no longer the env's latest.
var ErrConflict = fmt.Errorf("the env changed under this run")

// Write stores r as the revision after r.Base. When that number is taken (someone wrote a
// revision meanwhile), r is stored as a conflict revision after the newest one instead, so its
// state is never lost, and the error wraps ErrConflict.
func (s Store) Write(ctx context.Context, r Revision) (Revision, error) {
	r.Number = r.Base + 1
	if r.Time.IsZero() {
		r.Time = s.now()
	}
	created, err := s.create(ctx, r)
	if err != nil || created {
		return r, err
	}
	intended := r.Number
	for attempt := 0; attempt < 20; attempt++ {
		numbers, err := s.Numbers(ctx, r.Env)
		if err != nil {
			return r, err
		}
		last := 0
		if len(numbers) > 0 {
			last = numbers[len(numbers)-1]
		}
		r.Status, r.Number = StatusConflict, max(last, intended)+1
		r.Error = strings.TrimSpace(fmt.Sprintf("revision %d was written by someone else while this run started from %d. %s", intended, r.Base, r.Error))
		created, err := s.create(ctx, r)
		if err != nil {
			return r, err
		}
		if created {
			return r, fmt.Errorf("env %s: %w: stored revision %d as a conflict (revision %d was taken); compare them before changing the env again", r.Env, ErrConflict, r.Number, intended)
		}
	}
	return r, fmt.Errorf("env %s: could not store a conflict revision: revisions keep appearing", r.Env)
}

func (s Store) create(ctx context.Context, r Revision) (bool, error) {
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return false, fmt.Errorf("encoding revision %d of env %s: %w", r.Number, r.Env, err)
	}
	name := RevisionName(r.Env, r.Number)
	// Private from its first byte, whatever the bucket's default ACL.
	return s.Objects.CreateIfAbsent(ctx, name, body, alicloud.PutOptions{ContentType: "application/json", Private: true})
}
