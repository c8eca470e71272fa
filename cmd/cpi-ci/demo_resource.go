package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

// demoCloud is an emulator the demo starts in-process, and a resource source pointing at it.
type demoCloud struct {
	server *sim.Server
	web    *http.Server
	url    string
}

func startDemoCloud(dataDir string) (*demoCloud, error) {
	server, err := sim.New(sim.Config{
		Credentials: []sim.Credential{{AccessKeyID: "LTAI-demo", AccessKeySecret: "demo-secret-not-for-real-use"}},
		DataDir:     dataDir,
		// Minutes on the real cloud; a moment here.
		ImportDuration: time.Second,
		CopyDuration:   time.Second,
	})
	if err != nil {
		return nil, err
	}
	if err := server.CreateBucket(sim.Bucket{Name: "cpi-pipeline", Region: "cn-hangzhou"}); err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	web := &http.Server{Handler: server, ReadHeaderTimeout: 10 * time.Second}
	// Serve returns ErrServerClosed at stop; a failure before shows as the resources' own errors.
	go func() { _ = web.Serve(listener) }()
	return &demoCloud{server: server, web: web, url: "http://" + listener.Addr().String()}, nil
}

// stop ends the emulator after the demo's outcome is known: its errors (a connection that did
// not close, a temporary directory left behind) are not worth changing that outcome.
func (c *demoCloud) stop() {
	_ = c.web.Close()    // see above
	_ = c.server.Close() // see above
}

func (c *demoCloud) source(extra map[string]any) map[string]any {
	s := map[string]any{
		"access_key_id": "LTAI-demo", "access_key_secret": "demo-secret-not-for-real-use",
		"region": "cn-hangzhou", "bucket": "cpi-pipeline", "oss_endpoint": c.url,
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

// resource runs a resource binary from PATH as Concourse would and returns its stdout.
func (d *demo) resource(binary, step string, request any, dir string) (string, error) {
	body, err := json.Marshal(request)
	if err != nil {
		return "", err
	}
	args := []string{step}
	if dir != "" {
		args = append(args, dir)
	}
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), "HOME="+d.home, "BUILD_PIPELINE_NAME=demo", "BUILD_JOB_NAME="+step, "BUILD_NAME=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", binary, step, err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "" {
			d.printf("  | %s\n", line)
		}
	}
	return stdout.String(), nil
}

// releaseResource publishes the demo release's final tarball with the bosh-release resource
// into the emulator, then checks and fetches it, as a pipeline's put and get would.
func (d *demo) releaseResource() error {
	cloud, err := startDemoCloud(filepath.Join(d.dir, "emulator"))
	if err != nil {
		return err
	}
	defer cloud.stop()
	d.printf("emulator on %s, bucket cpi-pipeline\n", cloud.url)

	build := filepath.Join(d.dir, "put")
	if err := os.MkdirAll(build, 0o755); err != nil {
		return err
	}
	release := filepath.Join(d.dir, "demo-release")
	if _, err := d.cli(release, "bosh", "create-release", filepath.Join("releases", "demo", "demo-2.1.1.yml"),
		"--tarball", filepath.Join(build, "demo-2.1.1.tgz")); err != nil {
		return err
	}
	source := cloud.source(map[string]any{"name": "demo"})
	const binary = "bosh-release-resource"

	d.println("put (out): publish demo-2.1.1.tgz")
	out, err := d.resource(binary, "out", map[string]any{"source": source, "params": map[string]any{"file": "demo-*.tgz"}}, build)
	if err != nil {
		return err
	}
	d.printf("  → %s", out)

	d.println("put again (out): the same content is a no-op")
	if _, err := d.resource(binary, "out", map[string]any{"source": source, "params": map[string]any{"file": "demo-*.tgz"}}, build); err != nil {
		return err
	}

	d.println("check")
	checked, err := d.resource(binary, "check", map[string]any{"source": source}, "")
	if err != nil {
		return err
	}
	d.printf("  → %s", checked)
	if !strings.Contains(checked, `"2.1.1"`) {
		return fmt.Errorf("check did not find the published version: %s", checked)
	}

	d.println("get (in): fetch and verify")
	dest := filepath.Join(d.dir, "get")
	got, err := d.resource(binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "2.1.1"}}, dest)
	if err != nil {
		return err
	}
	d.printf("  → %s", got)
	entries, err := os.ReadDir(dest)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	d.printf("  files: %s\n", strings.Join(names, ", "))
	return nil
}

// lightStemcell builds a light stemcell candidate in three regions with the light-stemcell
// resource, promotes it, and fetches it for one region, as a gated pipeline does.
func (d *demo) lightStemcell() error {
	cloud, err := startDemoCloud(filepath.Join(d.dir, "emulator-stemcell"))
	if err != nil {
		return err
	}
	defer cloud.stop()
	build := filepath.Join(d.dir, "stemcell-put")
	if err := os.MkdirAll(build, 0o755); err != nil {
		return err
	}
	if _, err := stemcelltest.WriteHeavyFile(build, "bosh-alicloud-kvm-ubuntu-noble", "1.484", make([]byte, 1<<20)); err != nil {
		return err
	}
	const binary = "light-stemcell-resource"
	line := map[string]any{"stemcell": "bosh-alicloud-kvm-ubuntu-noble", "ecs_endpoint": cloud.url}
	candidate := cloud.source(merge(line, map[string]any{"channel": "candidate"}))
	published := cloud.source(line)

	d.println("put (out) on the candidate channel: build in cn-hangzhou, cn-beijing, eu-central-1")
	out, err := d.resource(binary, "out", map[string]any{"source": candidate,
		"params": map[string]any{"heavy_stemcell": "bosh-stemcell-*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "eu-central-1"}}}, build)
	if err != nil {
		return err
	}
	d.printf("  → %s", out)
	if err := os.WriteFile(filepath.Join(build, "version"), []byte("1.484\n"), 0o644); err != nil {
		return err
	}
	d.println("put (out) on the published channel: promote 1.484")
	if _, err := d.resource(binary, "out", map[string]any{"source": published, "params": map[string]any{"promote": "version"}}, build); err != nil {
		return err
	}
	d.println("get (in) for a director in eu-central-1")
	dest := filepath.Join(d.dir, "stemcell-get")
	got, err := d.resource(binary, "in", map[string]any{"source": published, "version": map[string]string{"version": "1.484"},
		"params": map[string]any{"region": "eu-central-1"}}, dest)
	if err != nil {
		return err
	}
	d.printf("  → %s", got)
	ids, err := os.ReadFile(filepath.Join(dest, "image_ids.json"))
	if err != nil {
		return err
	}
	d.printf("  image_ids.json: %s", ids)
	return nil
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
