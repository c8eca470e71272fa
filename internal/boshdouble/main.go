// Command boshdouble is a test double of the bosh CLI's create-env and delete-env, for tests
// of the director-env resource (and the test-only image variant): it honours their contract
// without a cloud. It never ships in a production image.
//
// It reads and writes the state file and the vars store as bosh does, needs every file the
// manifest references by path, takes the cloud credentials from a vars file, prints the CPI's
// config (access key secret included) to stderr like the real CPI v61.0.0, keeps compiled
// packages (and rendered jobs) under $HOME/.bosh/installations, and "deletes" every stemcell
// it is handed by appending `delete_stemcell <cid>` to $BOSH_DOUBLE_LOG. `interpolate` runs
// the real bosh CLI at $BOSH_DOUBLE_REAL (default: bosh-real on PATH).
//
// With BOSH_DOUBLE_ECS_ENDPOINT (and BOSH_DOUBLE_REGION) set, delete_stemcell really deletes the
// image through ECS there (the emulator), with the credentials of its vars file, as the real CPI
// does; BOSH_DOUBLE_HEAVY_CID is the image a heavy stemcell's create_stemcell "uploads".
//
// Faults, by environment: BOSH_DOUBLE_FAIL=1 fails after writing partial state;
// BOSH_DOUBLE_SLEEP=<duration> waits after writing partial state (to be stopped: on SIGTERM it
// exits at once with what it wrote); BOSH_DOUBLE_STATE_PAD=<bytes> pads the state file.
package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "interpolate" {
		real := os.Getenv("BOSH_DOUBLE_REAL")
		if real == "" {
			real = "bosh-real"
		}
		cmd := exec.Command(real, os.Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			os.Exit(1)
		}
		return
	}
	start := time.Now()
	err := run(os.Args[1:])
	// Benchmarks subtract the double's own run from the resource's wall time.
	journal("took %s %.6f", os.Args[1], time.Since(start).Seconds())
	if err != nil {
		fmt.Fprintln(os.Stderr, "Deploying:\n  "+err.Error()+"\n\nExit code 1")
		os.Exit(1)
	}
}

type args struct {
	command, manifest, state, varsStore string
	varsFiles                           []string
}

func parse(argv []string) (args, error) {
	var a args
	if len(argv) < 2 || (argv[0] != "create-env" && argv[0] != "delete-env") {
		return a, fmt.Errorf("boshdouble knows create-env, delete-env and interpolate, got %q", argv)
	}
	a.command, a.manifest = argv[0], argv[1]
	for i := 2; i < len(argv); i++ {
		next := func() string {
			i++
			if i < len(argv) {
				return argv[i]
			}
			return ""
		}
		switch argv[i] {
		case "--state":
			a.state = next()
		case "--vars-store":
			a.varsStore = next()
		case "--vars-file", "-l":
			a.varsFiles = append(a.varsFiles, next())
		case "--non-interactive", "-n":
		default:
			return a, fmt.Errorf("boshdouble: unexpected argument %q (secrets belong in vars files, not argv)", argv[i])
		}
	}
	if a.state == "" || a.varsStore == "" {
		return a, errors.New("boshdouble: --state and --vars-store are required")
	}
	return a, nil
}

type stemcellRecord struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	APIVersion int    `json:"api_version"`
	CID        string `json:"cid"`
}

type state struct {
	DirectorID        string           `json:"director_id"`
	InstallationID    string           `json:"installation_id"`
	CurrentVMCID      string           `json:"current_vm_cid"`
	CurrentStemcellID string           `json:"current_stemcell_id"`
	CurrentDiskID     string           `json:"current_disk_id"`
	CurrentReleaseIDs []string         `json:"current_release_ids"`
	CurrentManifest   string           `json:"current_manifest_sha"`
	Disks             []any            `json:"disks"`
	Stemcells         []stemcellRecord `json:"stemcells"`
	Releases          []any            `json:"releases"`
	Pad               string           `json:"pad,omitempty"`
}

func journal(format string, a ...any) {
	if p := os.Getenv("BOSH_DOUBLE_LOG"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = fmt.Fprintf(f, format+"\n", a...) // a test double: the test reads the journal
			_ = f.Close()
		}
	}
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func run(argv []string) error {
	a, err := parse(argv)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(a.manifest)
	if err != nil {
		return err
	}
	var manifest map[string]any
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		return err
	}
	vars := map[string]any{}
	for _, f := range a.varsFiles {
		info, err := os.Stat(f)
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("vars file %s is readable by others (%v)", f, info.Mode().Perm())
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return err
		}
		for k, val := range v {
			vars[k] = val
		}
	}
	for _, k := range []string{"access_key_id", "access_key_secret"} {
		if s, _ := vars[k].(string); s == "" {
			return fmt.Errorf("expected to find variables: %s", k)
		}
	}
	if !strings.Contains(string(raw), "((access_key_secret))") {
		return errors.New("boshdouble: the manifest has no ((access_key_secret)): cloud credentials were resolved before create-env")
	}
	stemcellName, stemcellVersion, stemcellCID, err := checkFiles(manifest)
	if err != nil {
		return err
	}

	creds := map[string]any{}
	if data, err := os.ReadFile(a.varsStore); err == nil {
		if err := yaml.Unmarshal(data, &creds); err != nil {
			return err
		}
	}
	if _, ok := creds["admin_password"]; !ok {
		creds["admin_password"] = "admin-" + random(10)
		creds["director_ssl"] = map[string]any{"ca": "-----BEGIN CERTIFICATE-----\nCA" + random(8) + "\n-----END CERTIFICATE-----\n", "certificate": "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n", "private_key": "-----BEGIN RSA PRIVATE KEY-----\nSSLKEY" + random(16) + "\n-----END RSA PRIVATE KEY-----\n"}
		creds["jumpbox_ssh"] = map[string]any{"private_key": "-----BEGIN RSA PRIVATE KEY-----\nJUMPBOX" + random(16) + "\n-----END RSA PRIVATE KEY-----\n", "public_key": "ssh-rsa AAAA"}
		data, _ := yaml.Marshal(creds)
		if err := os.WriteFile(a.varsStore, data, 0o600); err != nil {
			return err
		}
	}

	var st state
	if data, err := os.ReadFile(a.state); err == nil && len(data) > 0 {
		if err := json.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("reading the state: %w", err)
		}
	}
	if st.InstallationID == "" {
		st.InstallationID, st.DirectorID = "inst-"+random(4), "dir-"+random(4)
	}
	save := func() error {
		st.Pad = ""
		if n, _ := strconv.Atoi(os.Getenv("BOSH_DOUBLE_STATE_PAD")); n > 0 {
			st.Pad = strings.Repeat("x", n)
		}
		data, _ := json.MarshalIndent(st, "", "    ")
		return os.WriteFile(a.state, data, 0o600)
	}

	if err := install(st.InstallationID, vars); err != nil {
		return err
	}
	// The real CPI v61.0.0 prints its whole config, secret included, on every call.
	cpiConfig, _ := json.Marshal(map[string]any{"cloud": map[string]any{"plugin": "alicloud", "properties": map[string]any{"alicloud": map[string]any{
		"access_key_id": vars["access_key_id"], "access_key_secret": vars["access_key_secret"], "security_token": vars["security_token"],
	}}}})
	fmt.Fprintf(os.Stderr, "[CPI] config: %s\n", cpiConfig)
	fmt.Fprintf(os.Stderr, "[CPI] director admin password is %v\n", creds["admin_password"])

	if a.command == "delete-env" {
		for _, s := range st.Stemcells {
			if err := deleteStemcell(s.CID, vars); err != nil {
				return err
			}
		}
		if st.CurrentVMCID != "" {
			journal("delete_vm %s", st.CurrentVMCID)
		}
		st = state{DirectorID: st.DirectorID, InstallationID: st.InstallationID}
		fmt.Println("Deleting deployment:\n  Finished deleting deployment")
		return save()
	}

	// create-env: upload the stemcell unless the state has it, then deploy when it changed.
	var current stemcellRecord
	for _, s := range st.Stemcells {
		if s.Name == stemcellName && s.Version == stemcellVersion {
			current = s
		}
	}
	if current.ID == "" {
		current = stemcellRecord{ID: "sc-" + random(4), Name: stemcellName, Version: stemcellVersion, APIVersion: 3, CID: stemcellCID}
		if current.CID == "" {
			current.CID = os.Getenv("BOSH_DOUBLE_HEAVY_CID")
		}
		if current.CID == "" {
			current.CID = "m-heavy" + random(6)
		}
		journal("create_stemcell %s", current.CID)
		st.Stemcells = append(st.Stemcells, current)
	}
	if err := save(); err != nil { // partial state: the stemcell is known before the VM
		return err
	}
	if d := os.Getenv("BOSH_DOUBLE_SLEEP"); d != "" {
		wait, _ := time.ParseDuration(d)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		fmt.Println("Creating VM...")
		select {
		case <-stop:
			fmt.Fprintln(os.Stderr, "interrupted")
			os.Exit(130)
		case <-time.After(wait):
		}
	}
	if os.Getenv("BOSH_DOUBLE_FAIL") != "" {
		return errors.New("creating VM: CPI 'create_vm' method responded with error: InvalidVSwitchId.NotFound")
	}
	sum := sha1.Sum(raw)
	if st.CurrentStemcellID != current.ID || st.CurrentVMCID == "" || st.CurrentManifest != hex.EncodeToString(sum[:]) {
		if st.CurrentVMCID != "" {
			journal("delete_vm %s", st.CurrentVMCID)
		}
		st.CurrentVMCID = "i-" + random(6)
		journal("create_vm %s", st.CurrentVMCID)
		fmt.Println("Creating VM for instance 'bosh/0' from stemcell '" + current.CID + "'... Finished")
	} else {
		fmt.Println("No deployment, stemcell or release changes. Skipping deploy.")
	}
	st.CurrentStemcellID, st.CurrentManifest = current.ID, hex.EncodeToString(sum[:])
	var kept []stemcellRecord
	for _, s := range st.Stemcells {
		if s.ID == current.ID {
			kept = append(kept, s)
		} else if err := deleteStemcell(s.CID, vars); err != nil {
			return err
		}
	}
	st.Stemcells = kept
	fmt.Println("Finished deploying")
	return save()
}

// deleteStemcell is the CPI's delete_stemcell: it deletes the image it is given.
func deleteStemcell(cid string, vars map[string]any) error {
	journal("delete_stemcell %s", cid)
	endpoint := os.Getenv("BOSH_DOUBLE_ECS_ENDPOINT")
	if endpoint == "" {
		return nil
	}
	id, _ := vars["access_key_id"].(string)
	secret, _ := vars["access_key_secret"].(string)
	token, _ := vars["security_token"].(string)
	region := os.Getenv("BOSH_DOUBLE_REGION")
	session, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token,
		Region: region, Bucket: "unused-bucket", ECSEndpoint: endpoint}, alicloud.Options{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return session.DeleteImage(ctx, region, cid)
}

// checkFiles needs every file the manifest references by path (relative to the working
// directory, where the manifest is) and returns the stemcell's name, version and, for a light
// one, its image.
func checkFiles(manifest map[string]any) (name, version, cid string, err error) {
	for _, r := range items(manifest["releases"]) {
		if u, _ := r["url"].(string); strings.HasPrefix(u, "file://") {
			if _, err := os.Stat(strings.TrimPrefix(u, "file://")); err != nil {
				return "", "", "", fmt.Errorf("release %v: %w", r["name"], err)
			}
		}
	}
	if cp, ok := manifest["cloud_provider"].(map[string]any); ok {
		if t, ok := cp["ssh_tunnel"].(map[string]any); ok {
			if k, _ := t["private_key"].(string); k != "" {
				if _, err := os.Stat(k); err != nil {
					return "", "", "", fmt.Errorf("ssh_tunnel private_key: %w", err)
				}
			}
		}
	}
	for _, pool := range items(manifest["resource_pools"]) {
		s, _ := pool["stemcell"].(map[string]any)
		u, _ := s["url"].(string)
		if !strings.HasPrefix(u, "file://") {
			continue
		}
		return readStemcell(strings.TrimPrefix(u, "file://"))
	}
	return "", "", "", errors.New("the manifest has no file:// stemcell")
}

func readStemcell(path string) (name, version, cid string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", "", fmt.Errorf("stemcell: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", "", "", err
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return "", "", "", fmt.Errorf("stemcell: no stemcell.MF: %w", err)
		}
		if strings.TrimPrefix(hdr.Name, "./") != "stemcell.MF" {
			continue
		}
		var mf struct {
			Name            string `yaml:"name"`
			Version         string `yaml:"version"`
			CloudProperties struct {
				ImageID map[string]string `yaml:"image_id"`
			} `yaml:"cloud_properties"`
		}
		data, _ := io.ReadAll(tr)
		if err := yaml.Unmarshal(data, &mf); err != nil {
			return "", "", "", err
		}
		for _, id := range mf.CloudProperties.ImageID {
			cid = id
		}
		return mf.Name, mf.Version, cid, nil
	}
}

// install keeps the CPI's compiled package and its rendered job (which holds the resolved
// config, secret included) in the installation cache, compiling only when nothing is cached.
func install(id string, vars map[string]any) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	dir := filepath.Join(home, ".bosh", "installations", id)
	index := filepath.Join(dir, "compiled_packages.json")
	if _, err := os.Stat(index); err != nil {
		journal("compile cpi")
		fmt.Println("Compiling package 'alicloud_cpi/" + random(4) + "'... Finished")
		for _, sub := range []string{"packages", "blobs"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "blobs", "blob-1"), []byte("compiled cpi"), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "packages", "alicloud_cpi"), []byte("compiled"), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(index, []byte(`[{"package":"alicloud_cpi","blob":"blob-1"}]`), 0o600); err != nil {
			return err
		}
	} else {
		fmt.Println("Compiling package 'alicloud_cpi'... Skipped [Package already compiled]")
	}
	jobs := filepath.Join(dir, "jobs", "alicloud_cpi", "config")
	if err := os.MkdirAll(jobs, 0o700); err != nil {
		return err
	}
	config, _ := json.Marshal(map[string]any{"access_key_id": vars["access_key_id"], "access_key_secret": vars["access_key_secret"]})
	return os.WriteFile(filepath.Join(jobs, "cpi.json"), config, 0o600)
}

func items(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
