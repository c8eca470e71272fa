package director

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/boshcli"
	"gopkg.in/yaml.v3"
)

// Bosh runs the bosh CLI; boshcli.CLI is one (tests use a test double of the real binary).
type Bosh interface {
	CreateEnv(ctx context.Context, e boshcli.Env) error
	DeleteEnv(ctx context.Context, e boshcli.Env) error
	Interpolate(ctx context.Context, dir, manifest string, opsFiles, varsFiles []string) ([]byte, error)
}

// Secrets learns secrets read at run time (every value of creds.yml); the kit's redactor is one.
type Secrets interface {
	Register(secrets ...string)
}

// Credentials are the cloud credentials of this run, handed to bosh in a 0600 vars file.
// Temporary ones (STS, an assumed role, the worker's RAM role) carry a SecurityToken.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// Images looks up a stemcell's image; *alicloud.Session is one.
type Images interface {
	Image(ctx context.Context, region, id string) (alicloud.Image, error)
}

// Runner changes envs: create (or update), destroy and register, each under the env's
// operation lock, each storing a revision before it returns, also when bosh fails or the run
// is stopped.
type Runner struct {
	Store       Store
	Bosh        Bosh
	Log         Log
	Secrets     Secrets
	Credentials func(ctx context.Context) (Credentials, error)
	Work        string        // a scratch directory for workspaces
	Who         string        // the build, recorded in revisions and the lock
	LockTTL     time.Duration // how long a dead run keeps the lock; 12 hours when zero
	LeaseTTL    time.Duration // a holder's change renews its lease by this; 0: by the lease's own length
	// Images, when set, recognises light stemcells in a state by their image's tags (the
	// light-stemcell builder's), in Region unless the manifest's CPI names another.
	Images Images
	Region string
}

// SaveTimeout bounds storing a revision after the run was stopped (SIGTERM): Concourse kills
// the step soon after.
const SaveTimeout = 4 * time.Second

func (r Runner) lockTTL() time.Duration {
	if r.LockTTL > 0 {
		return r.LockTTL
	}
	return 12 * time.Hour
}

// CreateRequest is one create (or update) of an env. Paths are relative to Dir.
type CreateRequest struct {
	Env             string
	Dir             string
	Manifest        string
	OpsFiles        []string
	Vars            map[string]any
	VarsFiles       []string
	Metadata        json.RawMessage // the environment task's metadata (a JSON object)
	Lease           string          // the lease token, required when the env is leased
	DeleteOnFailure bool
}

// begin is what every change does first: check the lease, take the lock, read the latest.
func (r Runner) begin(ctx context.Context, env, token, action string) (*Lock, *Lease, Revision, bool, error) {
	if err := CheckEnvName(env); err != nil {
		return nil, nil, Revision{}, false, err
	}
	lease, err := r.Store.Authorize(ctx, env, token, r.LeaseTTL)
	if err != nil {
		return nil, nil, Revision{}, false, err
	}
	lock, err := r.Store.Lock(ctx, env, r.Who, action, r.lockTTL(), r.Log)
	if err != nil {
		return nil, nil, Revision{}, false, err
	}
	latest, found, err := r.Store.Latest(ctx, env)
	if err != nil {
		r.unlock(ctx, lock)
		return nil, nil, Revision{}, false, err
	}
	return lock, lease, latest, found, nil
}

func (r Runner) unlock(ctx context.Context, lock *Lock) {
	if err := lock.Unlock(context.WithoutCancel(ctx)); err != nil {
		logf(r.Log, "warning: could not release the operation lock (it expires by itself): %v", err)
	}
}

// saveContext is the context revisions are stored with: the run's, or, once it was stopped,
// one that lasts SaveTimeout more.
func saveContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() != nil {
		return context.WithTimeout(context.WithoutCancel(ctx), SaveTimeout)
	}
	return context.WithCancel(ctx)
}

// Create runs create-env for the env (an update when it exists) and stores a revision whatever
// happens; when bosh fails the error is returned after the revision is stored.
func (r Runner) Create(ctx context.Context, req CreateRequest) (Revision, error) {
	if err := CheckEnvName(req.Env); err != nil {
		return Revision{}, err
	}
	// Bad input fails before anything is locked or written.
	w, err := newWorkspace(r.Work, req.Env)
	if err != nil {
		return Revision{}, err
	}
	defer r.cleanup(w)
	creds, err := r.Credentials(ctx)
	if err != nil {
		return Revision{}, err
	}
	manifest, files, err := r.render(ctx, w, req)
	if err != nil {
		return Revision{}, err
	}
	if creds.SecurityToken != "" {
		if err := checkRAMRole(manifest); err != nil {
			return Revision{}, fmt.Errorf("refusing to create env %s: %w", req.Env, err)
		}
	}
	lock, lease, latest, found, err := r.begin(ctx, req.Env, req.Lease, "create")
	if err != nil {
		return Revision{}, err
	}
	defer r.unlock(ctx, lock)
	if found && latest.Live() {
		if err := r.Store.restore(ctx, Revision{Env: latest.Env, Number: latest.Number, Parts: pick(latest.Parts, PartState, PartCreds)}, w); err != nil {
			return Revision{}, err
		}
	}
	stem, hasStemcell, err := stemcellOf(manifest, w.dir)
	if err != nil {
		return Revision{}, err
	}
	cacheKey := cpiKey(manifest, files)
	if found && latest.Live() {
		r.restoreCache(ctx, latest, cacheKey, w)
	}
	light := []string(nil)
	if found && latest.Live() {
		light = r.tagged(ctx, w, manifest, latest.LightStemcells)
	}
	if w.exists(StateFile) && len(light) > 0 {
		keep := ""
		if doc, stemcells, err := readState(w.path(StateFile)); err == nil && hasStemcell {
			if cur, ok := currentStemcell(doc, stemcells); ok && cur.Name == stem.Name && cur.Version == stem.Version {
				keep = cur.CID
			}
		}
		dropped, err := dropLightStemcells(w.path(StateFile), light, keep)
		if err != nil {
			return Revision{}, err
		}
		if len(dropped) > 0 {
			logf(r.Log, "keeping light stemcell images %s out of create-env: bosh would delete them", strings.Join(dropped, ", "))
		}
		if keep != "" {
			logf(r.Log, "light stemcell image %s is the one deployed: kept, so the director VM is not redeployed", keep)
		}
	}

	runErr := r.run(ctx, w, creds, r.Bosh.CreateEnv)

	rev := Revision{Env: req.Env, Action: "create", Who: r.Who, Metadata: req.Metadata, Lease: lease, CacheKey: cacheKey}
	if found {
		rev.Base = latest.Number
		if rev.Metadata == nil {
			rev.Metadata = latest.Metadata
		}
	}
	rev.Status, rev.Error = outcome(ctx, runErr, StatusCreated)
	rev.LightStemcells = r.lightAfter(w, light, stem, hasStemcell)
	saveCtx, cancel := saveContext(ctx)
	defer cancel()
	stored, err := r.save(saveCtx, w, rev, manifest, files)
	if err != nil {
		if runErr != nil {
			return stored, fmt.Errorf("%w; and storing its revision: %w", runErr, err)
		}
		return stored, err
	}
	logf(r.Log, "env %s: stored revision %d (%s)", req.Env, stored.Number, stored.Status)
	if runErr == nil {
		return stored, nil
	}
	if req.DeleteOnFailure && ctx.Err() == nil {
		logf(r.Log, "create-env failed: running delete-env (delete_on_failure)")
		destroyed, err := r.deleteEnv(ctx, w, stored, lease)
		if err != nil {
			return destroyed, fmt.Errorf("%w; then delete_on_failure: %w", runErr, err)
		}
		return destroyed, fmt.Errorf("%w (the env was deleted: revision %d)", runErr, destroyed.Number)
	}
	return stored, fmt.Errorf("%w (its state is stored: revision %d)", runErr, stored.Number)
}

func outcome(ctx context.Context, runErr error, ok Status) (Status, string) {
	switch {
	case runErr == nil:
		return ok, ""
	case ctx.Err() != nil:
		return StatusInterrupted, runErr.Error()
	}
	return StatusFailed, runErr.Error()
}

func pick(parts map[string]Part, names ...string) map[string]Part {
	out := map[string]Part{}
	for _, n := range names {
		if p, ok := parts[n]; ok {
			out[n] = p
		}
	}
	return out
}

// render interpolates the manifest with every ops file, var and vars file (the vars through a
// 0600 file), leaving the cloud credentials unresolved, and lays out it and its files in w.
func (r Runner) render(ctx context.Context, w workspace, req CreateRequest) ([]byte, []referencedFile, error) {
	for _, v := range CloudCredentialVars {
		if _, ok := req.Vars[v]; ok {
			return nil, nil, fmt.Errorf("params.vars.%s: cloud credentials come from source, and are never stored with the env", v)
		}
	}
	varsFiles := slices.Clone(req.VarsFiles)
	if len(req.Vars) > 0 {
		p, err := w.writeSecret("vars.yml", req.Vars)
		if err != nil {
			return nil, nil, err
		}
		varsFiles = append(varsFiles, p)
	}
	rendered, err := r.Bosh.Interpolate(ctx, req.Dir, req.Manifest, req.OpsFiles, varsFiles)
	if err != nil {
		return nil, nil, err
	}
	base := filepath.Dir(filepath.Join(req.Dir, req.Manifest))
	manifest, files, err := localizeFiles(rendered, base)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(w.path(ManifestFile), manifest, 0o644); err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		if err := copyFile(f.Source, w.path(f.Rel), f.Secret); err != nil {
			return nil, nil, err
		}
	}
	return manifest, files, nil
}

// cpiKey is the sha256 of the CPI release's tarball (cloud_provider.template.release): what
// compiled packages are kept under.
func cpiKey(manifest []byte, files []referencedFile) string {
	var doc struct {
		Releases []struct {
			Name string `yaml:"name"`
			URL  string `yaml:"url"`
		} `yaml:"releases"`
		CloudProvider struct {
			Template struct {
				Release string `yaml:"release"`
			} `yaml:"template"`
		} `yaml:"cloud_provider"`
	}
	if yaml.Unmarshal(manifest, &doc) != nil {
		return ""
	}
	for _, rel := range doc.Releases {
		if rel.Name != doc.CloudProvider.Template.Release {
			continue
		}
		for _, f := range files {
			if "file://"+f.Rel == rel.URL {
				fh, err := os.Open(f.Source)
				if err != nil {
					return ""
				}
				digest, _, err := sha256File(fh)
				_ = fh.Close() // read-only: its close has nothing to report
				if err == nil {
					return digest
				}
			}
		}
	}
	return ""
}

func (r Runner) restoreCache(ctx context.Context, latest Revision, key string, w workspace) {
	p, ok := latest.Parts[PartCache]
	if !ok || key == "" || latest.CacheKey != key {
		return
	}
	data, err := r.Store.ReadPart(ctx, p)
	if err == nil {
		err = unpackCache(data, w.home())
	}
	if err != nil {
		logf(r.Log, "warning: not using the compiled CPI packages kept with the env (bosh compiles them again): %v", err)
		return
	}
	logf(r.Log, "restored the compiled CPI packages kept with revision %d", latest.Number)
}

// tagged adds to known the state's stemcells whose image carries the light-stemcell builder's
// tags (a state made elsewhere, or by an earlier pack, does not say which are light). An image
// that cannot be looked up is counted as light: leaking an image beats deleting a published one.
func (r Runner) tagged(ctx context.Context, w workspace, manifest []byte, known []string) []string {
	out := slices.Clone(known)
	if r.Images == nil {
		return out
	}
	_, stemcells, err := readState(w.path(StateFile))
	if err != nil {
		return out
	}
	region := cpiRegion(manifest)
	if region == "" {
		region = r.Region
	}
	for _, s := range stemcells {
		if s.CID == "" || slices.Contains(out, s.CID) {
			continue
		}
		light, err := LightStemcellImage(ctx, r.Images, region, s.CID)
		switch light {
		case Unknown:
			logf(r.Log, "warning: could not look up stemcell image %s (%v): keeping it out of bosh's reach as if it were light", s.CID, err)
			out = append(out, s.CID)
		case IsLight:
			logf(r.Log, "stemcell image %s carries the light-stemcell builder's tags: it is light", s.CID)
			out = append(out, s.CID)
		}
	}
	return out
}

// cpiRegion is the region the manifest's CPI works in (cloud_provider.properties.alicloud.region).
func cpiRegion(manifest []byte) string {
	var doc struct {
		CloudProvider struct {
			Properties struct {
				Alicloud struct {
					Region string `yaml:"region"`
				} `yaml:"alicloud"`
			} `yaml:"properties"`
		} `yaml:"cloud_provider"`
	}
	if yaml.Unmarshal(manifest, &doc) != nil {
		return ""
	}
	return doc.CloudProvider.Properties.Alicloud.Region
}

// lightAfter lists the light stemcell images the state holds after a run.
func (r Runner) lightAfter(w workspace, before []string, stem manifestStemcell, hasStemcell bool) []string {
	doc, stemcells, err := readState(w.path(StateFile))
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range stemcells {
		if slices.Contains(before, s.CID) {
			out = append(out, s.CID)
		}
	}
	if cur, ok := currentStemcell(doc, stemcells); ok && hasStemcell && stem.Light && cur.Name == stem.Name && cur.Version == stem.Version && !slices.Contains(out, cur.CID) {
		out = append(out, cur.CID)
	}
	return out
}

// run gives bosh the workspace: the manifest, state, vars store and the cloud credentials in
// a 0600 vars file, with every secret of creds.yml known to the log before bosh prints a line.
func (r Runner) run(ctx context.Context, w workspace, creds Credentials, command func(context.Context, boshcli.Env) error) error {
	cloud, err := w.writeSecret("cloud-credentials.yml", map[string]any{
		"access_key_id": creds.AccessKeyID, "access_key_secret": creds.AccessKeySecret, "security_token": creds.SecurityToken,
	})
	if err != nil {
		return err
	}
	// The access key id too: the CPI prints its whole config, and the bar for director
	// envs is that no part of the cloud credentials reaches a log.
	r.Secrets.Register(creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
	watch := &credsWatch{path: w.path(CredsFile), secrets: r.Secrets}
	watch.refresh()
	return command(ctx, boshcli.Env{
		Dir: w.dir, Manifest: ManifestFile, State: StateFile, VarsStore: CredsFile,
		VarsFiles: []string{cloud}, Home: w.home(), Watch: watch.refresh,
	})
}

// credsWatch registers the secrets of creds.yml whenever it changed: bosh generates them
// while it runs, and prints what the CPI prints right after.
type credsWatch struct {
	mu      sync.Mutex
	path    string
	secrets Secrets
	size    int64
	mod     time.Time
}

func (c *credsWatch) refresh() {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, err := os.Stat(c.path)
	if err != nil || (info.Size() == c.size && info.ModTime().Equal(c.mod)) {
		return
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	c.size, c.mod = info.Size(), info.ModTime()
	c.secrets.Register(credsSecrets(data)...)
}

// save stores the workspace as a revision: parts first, the record last.
func (r Runner) save(ctx context.Context, w workspace, rev Revision, manifest []byte, files []referencedFile) (Revision, error) {
	rev.Parts = map[string]Part{}
	if rev.Status != StatusDestroyed {
		for name, file := range map[string]string{PartState: StateFile, PartCreds: CredsFile} {
			data, err := os.ReadFile(w.path(file))
			if errors.Is(err, os.ErrNotExist) {
				continue // bosh failed before writing it
			}
			if err != nil {
				return rev, err
			}
			p, err := r.Store.PutPart(ctx, rev.Env, data)
			if err != nil {
				return rev, err
			}
			p.Secret = true
			rev.Parts[name] = p
		}
		if len(rev.Parts) > 0 || rev.Status == StatusRegistered {
			p, err := r.Store.PutPart(ctx, rev.Env, manifest)
			if err != nil {
				return rev, err
			}
			rev.Parts[PartManifest] = p
			for _, f := range files {
				p, err := r.Store.putFilePart(ctx, rev.Env, w.path(f.Rel))
				if err != nil {
					return rev, err
				}
				p.Secret = f.Secret
				rev.Parts[f.Rel] = p
			}
		}
		if rev.CacheKey != "" {
			if data, ok, err := packCache(w.home()); err == nil && ok {
				p, err := r.Store.PutPart(ctx, rev.Env, data)
				if err != nil {
					return rev, err
				}
				rev.Parts[PartCache] = p
			}
		}
	}
	if len(rev.Parts) == 0 {
		rev.Parts = nil
	}
	return r.Store.Write(ctx, rev)
}

func (r Runner) cleanup(w workspace) {
	if err := w.remove(); err != nil {
		logf(r.Log, "warning: could not remove %s: %v", w.dir, err)
	}
}

// Destroy runs delete-env with the env's stored manifest, files, state and vars store and the
// current credentials, and stores a tombstone (or, when bosh fails, the state it left).
func (r Runner) Destroy(ctx context.Context, env, token string) (Revision, error) {
	lock, lease, latest, found, err := r.begin(ctx, env, token, "destroy")
	if err != nil {
		return Revision{}, err
	}
	defer r.unlock(ctx, lock)
	if !found {
		return Revision{}, fmt.Errorf("env %s has no revision: nothing to destroy", env)
	}
	if !latest.Live() {
		logf(r.Log, "env %s has no director (revision %d is %s): nothing to delete", env, latest.Number, latest.Status)
		if latest.Destroyed() {
			return latest, nil
		}
	}
	w, err := newWorkspace(r.Work, env)
	if err != nil {
		return Revision{}, err
	}
	defer r.cleanup(w)
	if err := r.Store.restore(ctx, latest, w); err != nil {
		return Revision{}, err
	}
	return r.deleteEnv(ctx, w, latest, lease)
}

// deleteEnv runs delete-env in a workspace laid out from revision base and stores the outcome.
func (r Runner) deleteEnv(ctx context.Context, w workspace, base Revision, lease *Lease) (Revision, error) {
	manifest, files, err := w.storedManifest(base)
	if err != nil {
		return Revision{}, err
	}
	var runErr error
	if base.Live() {
		creds, err := r.Credentials(ctx)
		if err != nil {
			return Revision{}, err
		}
		r.restoreCache(ctx, base, base.CacheKey, w)
		if light := r.tagged(ctx, w, manifest, base.LightStemcells); len(light) > 0 && w.exists(StateFile) {
			dropped, err := dropLightStemcells(w.path(StateFile), light, "")
			if err != nil {
				return Revision{}, err
			}
			if len(dropped) > 0 {
				logf(r.Log, "keeping light stemcell images %s out of delete-env: bosh would delete them", strings.Join(dropped, ", "))
			}
		}
		runErr = r.run(ctx, w, creds, r.Bosh.DeleteEnv)
	}
	rev := Revision{Env: base.Env, Base: base.Number, Action: "destroy", Who: r.Who, Metadata: base.Metadata, Lease: lease, CacheKey: base.CacheKey}
	rev.Status, rev.Error = outcome(ctx, runErr, StatusDestroyed)
	if rev.Status != StatusDestroyed {
		rev.LightStemcells = base.LightStemcells
	} else {
		rev.CacheKey = ""
	}
	saveCtx, cancel := saveContext(ctx)
	defer cancel()
	stored, err := r.save(saveCtx, w, rev, manifest, files)
	if err != nil {
		if runErr != nil {
			return stored, fmt.Errorf("%w; and storing its revision: %w", runErr, err)
		}
		return stored, err
	}
	logf(r.Log, "env %s: stored revision %d (%s)", base.Env, stored.Number, stored.Status)
	if runErr != nil {
		return stored, fmt.Errorf("%w (its state is stored: revision %d)", runErr, stored.Number)
	}
	return stored, nil
}

// storedManifest reads the manifest laid out in w and lists the files it references.
func (w workspace) storedManifest(r Revision) ([]byte, []referencedFile, error) {
	manifest, err := os.ReadFile(w.path(ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var files []referencedFile
	for name, p := range r.Parts {
		if strings.HasPrefix(name, "files/") {
			files = append(files, referencedFile{Source: w.path(name), Rel: name, Secret: p.Secret})
		}
	}
	return manifest, files, nil
}

// Register records a director created elsewhere: dir holds director.yml, creds.yml,
// director-state.json and, optionally, metadata (a JSON object).
func (r Runner) Register(ctx context.Context, env, dir, token string) (Revision, error) {
	lock, lease, latest, found, err := r.begin(ctx, env, token, "register")
	if err != nil {
		return Revision{}, err
	}
	defer r.unlock(ctx, lock)
	if found && latest.Live() {
		return Revision{}, fmt.Errorf("env %s already has a director (revision %d is %s): destroy it before registering another", env, latest.Number, latest.Status)
	}
	w, err := newWorkspace(r.Work, env)
	if err != nil {
		return Revision{}, err
	}
	defer r.cleanup(w)
	for _, name := range []string{ManifestFile, CredsFile, StateFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return Revision{}, fmt.Errorf("params.dir: %s is missing", name)
		}
	}
	rendered, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Revision{}, err
	}
	manifest, files, err := localizeFiles(rendered, dir)
	if err != nil {
		return Revision{}, err
	}
	if err := os.WriteFile(w.path(ManifestFile), manifest, 0o644); err != nil {
		return Revision{}, err
	}
	for _, f := range files {
		if err := copyFile(f.Source, w.path(f.Rel), f.Secret); err != nil {
			return Revision{}, err
		}
	}
	for _, name := range []string{CredsFile, StateFile} {
		if err := copyFile(filepath.Join(dir, name), w.path(name), true); err != nil {
			return Revision{}, err
		}
	}
	rev := Revision{Env: env, Action: "register", Who: r.Who, Status: StatusRegistered, Lease: lease}
	if found {
		rev.Base = latest.Number
	}
	if data, err := os.ReadFile(filepath.Join(dir, "metadata")); err == nil {
		if !json.Valid(data) {
			return Revision{}, fmt.Errorf("params.dir: metadata is not JSON")
		}
		rev.Metadata = json.RawMessage(data)
	}
	creds, err := os.ReadFile(w.path(CredsFile))
	if err != nil {
		return Revision{}, err
	}
	r.Secrets.Register(credsSecrets(creds)...)
	return r.save(ctx, w, rev, manifest, files)
}

// Fetch writes revision n of env into dir: director.yml with its files, director-state.json
// and creds.yml (0600), as create-env left them.
func (s Store) Fetch(ctx context.Context, env string, n int, dir string, secrets Secrets) (Revision, error) {
	r, err := s.Read(ctx, env, n)
	if err != nil {
		return Revision{}, err
	}
	if r.Destroyed() {
		return r, nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		return Revision{}, err
	}
	if err := s.restore(ctx, r, workspace{dir: dir}); err != nil {
		return Revision{}, err
	}
	if p, ok := r.Parts[PartCreds]; ok {
		data, err := s.ReadPart(ctx, p)
		if err != nil {
			return Revision{}, err
		}
		secrets.Register(credsSecrets(data)...)
	}
	return r, nil
}
