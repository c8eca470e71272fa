package director_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/boshcli"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"
)

// envHarness is a Runner over the emulator and the bosh test double, logging through the
// kit's redacting logger into a buffer (what a resource prints on stderr).
type envHarness struct {
	cloud   *testtools.Cloud
	store   director.Store
	fixture testtools.DirectorFixture
	double  string
	journal string
	stderr  *syncBuffer
}

type syncBuffer struct {
	bytes.Buffer
}

func newHarness(t *testing.T) *envHarness {
	h := &envHarness{cloud: testtools.NewCloud(t, func(c *sim.Config) { c.ImportDuration = 20 * time.Millisecond }), double: testtools.BoshDouble(t), stderr: &syncBuffer{}}
	h.store = newStore(t, h.cloud, nil)
	h.fixture = testtools.NewDirectorFixture(t, t.TempDir(), h.cloud.Region)
	h.journal = filepath.Join(t.TempDir(), "journal")
	t.Setenv("BOSH_DOUBLE_LOG", h.journal)
	t.Setenv("HOME", t.TempDir()) // the double must never see the developer's ~/.bosh
	return h
}

// runner is a fresh Runner with its own work directory, as on another worker.
func (h *envHarness) runner(t *testing.T) director.Runner {
	log := concourse.NewLogger(&h.stderr.Buffer, concourse.NewRedactor(h.cloud.Secret), false)
	return director.Runner{
		Store: h.store, Log: log, Secrets: log.Secrets(), Bosh: boshcli.CLI{Log: log, Path: h.double},
		Credentials: func(context.Context) (director.Credentials, error) {
			return director.Credentials{AccessKeyID: h.cloud.KeyID, AccessKeySecret: h.cloud.Secret}, nil
		},
		Work: t.TempDir(), Who: "cpi/bats #1",
	}
}

func (h *envHarness) request() director.CreateRequest {
	f := h.fixture
	vars := map[string]any{}
	for k, v := range f.Vars {
		vars[k] = v
	}
	return director.CreateRequest{Env: "bats", Dir: f.Dir, Manifest: f.Manifest, OpsFiles: f.OpsFiles, Vars: vars}
}

func (h *envHarness) journalLines() string {
	data, _ := os.ReadFile(h.journal) // no journal yet: nothing ran
	return string(data)
}

// everyObject returns the content of every object under the env's prefix.
func (h *envHarness) everyObject(t *testing.T, env string) map[string]string {
	out := map[string]string{}
	for _, key := range h.cloud.Keys(t, "directors/"+env+"/") {
		data, _, err := h.store.Objects.Get(context.Background(), strings.TrimPrefix(key, "directors/"))
		if err != nil {
			t.Fatal(err)
		}
		out[key] = string(data)
	}
	return out
}

// importImage imports a raw disk into an Available image, as a light stemcell's (or a CPI's
// create_stemcell) would be.
func importImage(t *testing.T, s *alicloud.Session, cloud *testtools.Cloud, name string, tags ...map[string]string) string {
	ctx := context.Background()
	store, err := s.Store()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, "images/"+name+".img", []byte("raw disk"), alicloud.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	request := alicloud.ImportRequest{Name: name, Bucket: cloud.Bucket, Object: "images/" + name + ".img",
		DiskSizeGiB: 5, Format: "RAW", Architecture: "x86_64", OSType: "linux", Platform: "Ubuntu"}
	if len(tags) > 0 {
		request.Tags = tags[0]
	}
	id, err := s.ImportImage(ctx, cloud.Region, request)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitImage(ctx, cloud.Region, id, alicloud.WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	return id
}

func testEnvs(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		h      *envHarness
		ctx    = context.Background()
	)
	it.Before(func() { h = newHarness(t) })

	it("creates an env: manifest rendered by bosh with credentials unresolved, every part stored, no cloud secret stored or printed", func() {
		r, err := h.runner(t).Create(ctx, h.request())
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(r.Number).To(Equal(1))
		Expect(r.Status).To(Equal(director.StatusCreated))
		Expect(r.Parts).To(HaveKey(director.PartState))
		Expect(r.Parts).To(HaveKey(director.PartCreds))
		Expect(r.Parts).To(HaveKey(director.PartManifest))
		Expect(r.Parts).To(HaveKey(director.PartCache))
		Expect(r.Parts).To(HaveKey("files/4-jumpbox.key"))
		Expect(r.Parts["files/4-jumpbox.key"].Secret).To(BeTrue())
		Expect(r.CacheKey).NotTo(BeEmpty())

		manifest, err := h.store.ReadPart(ctx, r.Parts[director.PartManifest])
		Expect(err).NotTo(HaveOccurred())
		var doc map[string]any
		Expect(yaml.Unmarshal(manifest, &doc)).To(Succeed())
		Expect(string(manifest)).To(ContainSubstring("access_key_secret: ((access_key_secret))"))
		Expect(string(manifest)).To(ContainSubstring("url: file://files/1-bosh.tgz"))
		Expect(string(manifest)).To(ContainSubstring("private_key: files/4-jumpbox.key"))
		Expect(string(manifest)).To(ContainSubstring("ram_role_name: bosh-director"))

		for key, content := range h.everyObject(t, "bats") {
			Expect(content).NotTo(ContainSubstring(h.cloud.Secret), key)
		}
		Expect(h.stderr.String()).To(ContainSubstring("[CPI] config:"))
		Expect(h.stderr.String()).To(ContainSubstring(concourse.Redacted))
		Expect(h.stderr.String()).NotTo(ContainSubstring(h.cloud.Secret))
		creds, err := h.store.ReadPart(ctx, r.Parts[director.PartCreds])
		Expect(err).NotTo(HaveOccurred())
		var c struct {
			AdminPassword string `yaml:"admin_password"`
		}
		Expect(yaml.Unmarshal(creds, &c)).To(Succeed())
		Expect(c.AdminPassword).To(HavePrefix("admin-"))
		Expect(h.stderr.String()).NotTo(ContainSubstring(c.AdminPassword), "a secret bosh generated while running is redacted too")
	})

	it("refuses cloud credentials as vars, and temporary credentials without the director RAM-role ops", func() {
		req := h.request()
		req.Vars["access_key_secret"] = "x"
		_, err := h.runner(t).Create(ctx, req)
		Expect(err).To(MatchError(ContainSubstring("params.vars.access_key_secret: cloud credentials come from source")))

		runner := h.runner(t)
		runner.Credentials = func(context.Context) (director.Credentials, error) {
			return director.Credentials{AccessKeyID: "STS.x", AccessKeySecret: "sts-secret", SecurityToken: "sts-token-value"}, nil
		}
		req = h.request()
		req.OpsFiles = req.OpsFiles[:2]
		_, err = runner.Create(ctx, req)
		Expect(err).To(MatchError(ContainSubstring("apply the director RAM-role ops file")))
		Expect(h.cloud.Keys(t, "directors/bats/revisions/")).To(BeEmpty())
	})

	it("stores the revision when create-env fails after writing partial state, then fails", func() {
		t.Setenv("BOSH_DOUBLE_FAIL", "1")
		r, err := h.runner(t).Create(ctx, h.request())
		Expect(err).To(MatchError(ContainSubstring("its state is stored: revision 1")))
		Expect(r.Status).To(Equal(director.StatusFailed))
		state, err := h.store.ReadPart(ctx, r.Parts[director.PartState])
		Expect(err).NotTo(HaveOccurred())
		Expect(string(state)).To(ContainSubstring(h.fixture.LightID))
		Expect(r.LightStemcells).To(BeEmpty(), "no VM was deployed from it")
	})

	it("runs delete-env after a failed create-env with delete_on_failure, and stores that too", func() {
		t.Setenv("BOSH_DOUBLE_FAIL", "1")
		req := h.request()
		req.DeleteOnFailure = true
		r, err := h.runner(t).Create(ctx, req)
		Expect(err).To(MatchError(ContainSubstring("the env was deleted: revision 2")))
		Expect(r.Status).To(Equal(director.StatusDestroyed))
		numbers, _ := h.store.Numbers(ctx, "bats")
		Expect(numbers).To(Equal([]int{1, 2}))
	})

	it("stores the revision within 5 s when the run is stopped during create-env", func() {
		t.Setenv("BOSH_DOUBLE_SLEEP", "60s")
		stop, cancel := context.WithCancel(ctx)
		var stopped time.Time
		go func() {
			time.Sleep(1500 * time.Millisecond)
			stopped = time.Now()
			cancel()
		}()
		r, err := h.runner(t).Create(stop, h.request())
		took := time.Since(stopped)
		Expect(err).To(HaveOccurred())
		Expect(r.Status).To(Equal(director.StatusInterrupted))
		Expect(r.Parts).To(HaveKey(director.PartState))
		t.Logf("stored %s after the stop", took)
		Expect(took).To(BeNumerically("<", 5*time.Second))
		latest, _, err := h.store.Latest(ctx, "bats")
		Expect(err).NotTo(HaveOccurred())
		Expect(latest.Number).To(Equal(r.Number))
	})

	it("destroys from a fresh work dir and HOME with only the revision; compiled packages come along", func() {
		_, err := h.runner(t).Create(ctx, h.request())
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		t.Setenv("HOME", t.TempDir())
		r, err := h.runner(t).Destroy(ctx, "bats", "")
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(r.Status).To(Equal(director.StatusDestroyed))
		Expect(r.Destroyed()).To(BeTrue())
		Expect(r.Parts).To(BeEmpty())
		Expect(strings.Count(h.journalLines(), "compile cpi")).To(Equal(1), h.journalLines())
		Expect(h.journalLines()).To(MatchRegexp(`delete_vm i-`))
		Expect(h.stderr.String()).To(ContainSubstring("restored the compiled CPI packages"))
		Expect(h.stderr.String()).NotTo(ContainSubstring(h.cloud.Secret))

		again, err := h.runner(t).Destroy(ctx, "bats", "")
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Number).To(Equal(r.Number), "destroying a destroyed env changes nothing")
	})

	it("keeps a light stemcell's image Available through delete-env, while bosh deletes a heavy one's (with a double that deletes every stemcell it is handed)", func() {
		session, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: h.cloud.KeyID, AccessKeySecret: h.cloud.Secret, Region: h.cloud.Region,
			Bucket: h.cloud.Bucket, OSSEndpoint: h.cloud.URL, ECSEndpoint: h.cloud.URL}, alicloud.Options{})
		Expect(err).NotTo(HaveOccurred())
		light, heavy := importImage(t, session, h.cloud, "light"), importImage(t, session, h.cloud, "heavy")
		testtools.WriteStemcell(t, filepath.Join(h.fixture.Dir, h.fixture.Light), "1.484", map[string]string{h.cloud.Region: light})
		t.Setenv("BOSH_DOUBLE_ECS_ENDPOINT", h.cloud.URL)
		t.Setenv("BOSH_DOUBLE_REGION", h.cloud.Region)
		t.Setenv("BOSH_DOUBLE_HEAVY_CID", heavy)

		r, err := h.runner(t).Create(ctx, h.request())
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(r.LightStemcells).To(Equal([]string{light}))
		_, err = h.runner(t).Destroy(ctx, "bats", "")
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(h.stderr.String()).To(ContainSubstring("keeping light stemcell images " + light + " out of delete-env"))
		image, err := session.Image(ctx, h.cloud.Region, light)
		Expect(err).NotTo(HaveOccurred())
		Expect(image.Status).To(Equal("Available"))

		req := h.request()
		req.Env = "heavy"
		req.Vars["stemcell"] = filepath.Join(h.fixture.Dir, h.fixture.Heavy)
		created, err := h.runner(t).Create(ctx, req)
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(created.LightStemcells).To(BeEmpty())
		_, err = h.runner(t).Destroy(ctx, "heavy", "")
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		_, err = session.Image(ctx, h.cloud.Region, heavy)
		Expect(alicloud.HasCode(err, "ImageNotFound")).To(BeTrue(), "the control case: a heavy stemcell's image is bosh's to delete, got %v", err)
	})

	it("recognises a light stemcell in a state by its image's builder tags, and keeps it out of delete-env", func() {
		session, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: h.cloud.KeyID, AccessKeySecret: h.cloud.Secret, Region: h.cloud.Region,
			Bucket: h.cloud.Bucket, OSSEndpoint: h.cloud.URL, ECSEndpoint: h.cloud.URL}, alicloud.Options{})
		Expect(err).NotTo(HaveOccurred())
		tagged := importImage(t, session, h.cloud, "tagged", map[string]string{"stemcell": "bosh-alicloud-kvm-ubuntu-noble", "stemcell-version": "1.485", "stage": "published"})
		t.Setenv("BOSH_DOUBLE_ECS_ENDPOINT", h.cloud.URL)
		t.Setenv("BOSH_DOUBLE_REGION", h.cloud.Region)
		t.Setenv("BOSH_DOUBLE_HEAVY_CID", tagged) // a state whose tarball said nothing of lightness
		req := h.request()
		req.Vars["stemcell"] = filepath.Join(h.fixture.Dir, h.fixture.Heavy)
		_, err = h.runner(t).Create(ctx, req)
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		runner := h.runner(t)
		runner.Images, runner.Region = session, h.cloud.Region
		_, err = runner.Destroy(ctx, "bats", "")
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(h.stderr.String()).To(ContainSubstring("stemcell image " + tagged + " carries the light-stemcell builder's tags"))
		image, err := session.Image(ctx, h.cloud.Region, tagged)
		Expect(err).NotTo(HaveOccurred())
		Expect(image.Status).To(Equal("Available"))
	})

	it("does not redeploy an update to the same light stemcell, and keeps a replaced light one out of create-env", func() {
		_, err := h.runner(t).Create(ctx, h.request())
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		updated, err := h.runner(t).Create(ctx, h.request())
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(updated.Number).To(Equal(2))
		Expect(strings.Count(h.journalLines(), "create_vm")).To(Equal(1), "the same light stemcell does not redeploy:\n"+h.journalLines())
		Expect(h.stderr.String()).To(ContainSubstring("light stemcell image " + h.fixture.LightID + " is the one deployed: kept"))

		heavy := h.request()
		heavy.Vars["stemcell"] = filepath.Join(h.fixture.Dir, h.fixture.Heavy)
		moved, err := h.runner(t).Create(ctx, heavy)
		Expect(err).NotTo(HaveOccurred(), h.stderr.String())
		Expect(moved.LightStemcells).To(BeEmpty())
		Expect(h.stderr.String()).To(ContainSubstring("keeping light stemcell images " + h.fixture.LightID + " out of create-env"))
		Expect(h.journalLines()).NotTo(ContainSubstring("delete_stemcell " + h.fixture.LightID))
	})

	it("refuses to create on an env leased by someone else, naming the holder", func() {
		_, err := h.store.Claim(ctx, "bats", "cpi/other #4", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = h.runner(t).Create(ctx, h.request())
		Expect(err).To(MatchError(ContainSubstring("the lease is held by cpi/other #4")))
	})

	it("registers a director created elsewhere", func() {
		created, err := h.runner(t).Create(ctx, h.request())
		Expect(err).NotTo(HaveOccurred())
		dir := t.TempDir()
		_, err = h.store.Fetch(ctx, "bats", created.Number, dir, concourse.NewRedactor())
		Expect(err).NotTo(HaveOccurred())
		r, err := h.runner(t).Register(ctx, "elsewhere", dir, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Status).To(Equal(director.StatusRegistered))
		Expect(r.Parts).To(HaveKey(director.PartState))
		Expect(r.Parts).To(HaveKey("files/4-jumpbox.key"))
	})
}
