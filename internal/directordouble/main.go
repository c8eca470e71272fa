// Command directordouble is a test double of the bosh CLI talking to a director, for the
// test-only task image (images/task-demo) that `make e2e` and the demo run the pack's director
// tasks on: it keeps the director's deployments, stemcells, releases, orphaned disks and
// cloud-config in a JSON file and answers the commands the tasks use with the bosh CLI's own
// `--json` shapes. Every other command (interpolate, create-release, add-blob, ...) runs the real
// bosh CLI at $BOSH_DOUBLE_REAL (default /usr/local/bin/bosh). It never ships in a production
// image.
//
// The state file is $BOSH_DOUBLE_DIRECTOR_STATE (a director-state fixture's director.env exports
// it), else $HOME/.bosh-double/director.json. The director's region is $BOSH_DOUBLE_REGION, else
// the first region a light stemcell has an image in. Each call is logged on stderr as
// "bosh-double: ARGV" so a build's log shows what the task asked the director. `clean-up` is
// refused (the pack's tasks never run it). BOSH_DOUBLE_ERRAND_FAIL=<errand> makes that errand
// fail.
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// director is the double's whole state.
type director struct {
	Deployments map[string]deployment `json:"deployments"`
	Stemcells   []stemcell            `json:"stemcells"`
	Releases    []release             `json:"releases"`
	Orphaned    []disk                `json:"orphaned_disks"`
	CloudConfig string                `json:"cloud_config"`
}

type deployment struct {
	Releases  []string `json:"releases"`  // name/version
	Stemcells []string `json:"stemcells"` // name/version
	Manifest  string   `json:"manifest"`
	Disks     []disk   `json:"disks"`
}

type stemcell struct {
	Name    string `json:"name"`
	OS      string `json:"os"`
	Version string `json:"version"`
	CID     string `json:"cid"`
}

type release struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit_hash"`
}

type disk struct {
	CID        string `json:"disk_cid"`
	Size       string `json:"size"`
	Deployment string `json:"deployment"`
	Instance   string `json:"instance"`
	AZ         string `json:"az"`
	OrphanedAt string `json:"orphaned_at"`
}

// call is one command line: the global flags the double cares about, and the rest.
type call struct {
	deployment string
	json       bool
	args       []string // the command and its own arguments, flags included
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		var code exitError
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "Error: "+err.Error())
		fmt.Fprintln(os.Stderr, "\nExit code 1")
		os.Exit(1)
	}
}

type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

var handlers = map[string]func(*director, call) (bool, error){
	"deployments":         listDeployments,
	"stemcells":           listStemcells,
	"releases":            listReleases,
	"disks":               listDisks,
	"upload-stemcell":     uploadStemcell,
	"upload-release":      uploadRelease,
	"update-cloud-config": updateCloudConfig,
	"cloud-config":        showCloudConfig,
	"deploy":              deploy,
	"run-errand":          runErrand,
	"delete-deployment":   deleteDeployment,
	"delete-disk":         deleteDisk,
	"delete-stemcell":     deleteStemcell,
	"delete-release":      deleteRelease,
	"env":                 showEnv,
}

func run(argv []string) error {
	c := parse(argv)
	if len(c.args) == 0 {
		return delegate(argv)
	}
	if c.args[0] == "clean-up" {
		fmt.Fprintln(os.Stderr, "bosh-double: "+strings.Join(argv, " "))
		return errors.New("bosh-double refuses clean-up: it deletes unused stemcells, light stemcell images among them, through the CPI")
	}
	handle, ok := handlers[c.args[0]]
	if !ok {
		return delegate(argv)
	}
	fmt.Fprintln(os.Stderr, "bosh-double: "+strings.Join(argv, " "))
	if os.Getenv("BOSH_ENVIRONMENT") == "" {
		return errors.New("expected non-empty Director URL (BOSH_ENVIRONMENT), as the bosh CLI does")
	}
	file := stateFile()
	d, err := load(file)
	if err != nil {
		return err
	}
	changed, err := handle(d, c)
	if changed {
		if serr := save(file, d); serr != nil {
			return serr
		}
	}
	return err
}

// parse takes the global flags out of argv, wherever they are.
func parse(argv []string) call {
	var c call
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-d" || a == "--deployment":
			if i+1 < len(argv) {
				c.deployment = argv[i+1]
				i++
			}
		case strings.HasPrefix(a, "--deployment="):
			c.deployment = strings.TrimPrefix(a, "--deployment=")
		case a == "--json":
			c.json = true
		case a == "-n" || a == "--non-interactive" || a == "--tty":
		case a == "-e" || a == "--environment" || a == "--client" || a == "--client-secret" || a == "--ca-cert":
			i++
		default:
			c.args = append(c.args, a)
		}
	}
	return c
}

func stateFile() string {
	if f := os.Getenv("BOSH_DOUBLE_DIRECTOR_STATE"); f != "" {
		return f
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".bosh-double", "director.json")
}

func load(file string) (*director, error) {
	d := &director{Deployments: map[string]deployment{}}
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("bosh-double state %s: %w", file, err)
	}
	if d.Deployments == nil {
		d.Deployments = map[string]deployment{}
	}
	return d, nil
}

func save(file string, d *director) error {
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// delegate runs the real bosh CLI in the double's place.
func delegate(argv []string) error {
	real := os.Getenv("BOSH_DOUBLE_REAL")
	if real == "" {
		real = "/usr/local/bin/bosh"
	}
	path, err := exec.LookPath(real)
	if err != nil {
		return fmt.Errorf("bosh-double: the real bosh CLI: %w", err)
	}
	return syscall.Exec(path, append([]string{"bosh"}, argv...), os.Environ())
}

// table prints rows as the bosh CLI's --json does, or as plain lines.
func table(c call, content string, header []string, rows []map[string]string) error {
	if !c.json {
		for _, r := range rows {
			var cells []string
			for _, h := range header {
				cells = append(cells, r[h])
			}
			fmt.Println(strings.Join(cells, "\t"))
		}
		fmt.Printf("\n%d %s\n", len(rows), content)
		return nil
	}
	heads := map[string]string{}
	for _, h := range header {
		heads[h] = strings.ReplaceAll(strings.TrimSuffix(h, "_s"), "_", " ")
	}
	if rows == nil {
		rows = []map[string]string{}
	}
	out := map[string]any{
		"Tables": []any{map[string]any{"Content": content, "Header": heads, "Rows": rows, "Notes": []string{}}},
		"Blocks": nil,
		"Lines":  []string{"Using environment '" + os.Getenv("BOSH_ENVIRONMENT") + "' as client '" + os.Getenv("BOSH_CLIENT") + "'", "Succeeded"},
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "    ")
	return enc.Encode(out)
}

func listDeployments(d *director, c call) (bool, error) {
	var rows []map[string]string
	for _, name := range sortedNames(d.Deployments) {
		dep := d.Deployments[name]
		rows = append(rows, map[string]string{"name": name, "release_s": strings.Join(dep.Releases, "\n"),
			"stemcell_s": strings.Join(dep.Stemcells, "\n"), "team_s": ""})
	}
	return false, table(c, "deployments", []string{"name", "release_s", "stemcell_s", "team_s"}, rows)
}

func (d *director) used(kind, nameVersion string) bool {
	for _, dep := range d.Deployments {
		list := dep.Releases
		if kind == "stemcell" {
			list = dep.Stemcells
		}
		for _, nv := range list {
			if nv == nameVersion {
				return true
			}
		}
	}
	return false
}

func listStemcells(d *director, c call) (bool, error) {
	var rows []map[string]string
	for _, s := range d.Stemcells {
		v := s.Version
		if d.used("stemcell", s.Name+"/"+s.Version) {
			v += "*"
		}
		rows = append(rows, map[string]string{"name": s.Name, "os": s.OS, "version": v, "cid": s.CID, "cpi": ""})
	}
	return false, table(c, "stemcells", []string{"name", "os", "version", "cpi", "cid"}, rows)
}

func listReleases(d *director, c call) (bool, error) {
	var rows []map[string]string
	for _, r := range d.Releases {
		v := r.Version
		if d.used("release", r.Name+"/"+r.Version) {
			v += "*"
		}
		rows = append(rows, map[string]string{"name": r.Name, "version": v, "commit_hash": r.Commit})
	}
	return false, table(c, "releases", []string{"name", "version", "commit_hash"}, rows)
}

func listDisks(d *director, c call) (bool, error) {
	if len(c.args) < 2 || c.args[1] != "--orphaned" {
		return false, errors.New("bosh-double: disks is only known with --orphaned")
	}
	var rows []map[string]string
	for _, k := range d.Orphaned {
		rows = append(rows, map[string]string{"disk_cid": k.CID, "size": k.Size, "deployment": k.Deployment,
			"instance": k.Instance, "az": k.AZ, "orphaned_at": k.OrphanedAt})
	}
	return false, table(c, "disks", []string{"disk_cid", "size", "deployment", "instance", "az", "orphaned_at"}, rows)
}

// readTarMember returns the named member of a gzipped tarball.
func readTarMember(path string, names ...string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s holds none of %v", path, names)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, n := range names {
			if strings.TrimPrefix(h.Name, "./") == n {
				return io.ReadAll(tr)
			}
		}
	}
}

func uploadStemcell(d *director, c call) (bool, error) {
	if len(c.args) < 2 {
		return false, errors.New("upload-stemcell needs a stemcell tarball")
	}
	raw, err := readTarMember(c.args[1], "stemcell.MF")
	if err != nil {
		return false, err
	}
	var mf struct {
		Name            string `yaml:"name"`
		Version         string `yaml:"version"`
		OS              string `yaml:"operating_system"`
		CloudProperties struct {
			ImageID map[string]string `yaml:"image_id"`
		} `yaml:"cloud_properties"`
	}
	if err := yaml.Unmarshal(raw, &mf); err != nil {
		return false, fmt.Errorf("stemcell.MF: %w", err)
	}
	for _, s := range d.Stemcells {
		if s.Name == mf.Name && s.Version == mf.Version {
			fmt.Printf("Stemcell '%s/%s' already exists.\n", mf.Name, mf.Version)
			return false, nil
		}
	}
	cid := "m-heavy" + strings.ReplaceAll(mf.Version, ".", "")
	if len(mf.CloudProperties.ImageID) > 0 {
		region := os.Getenv("BOSH_DOUBLE_REGION")
		if region == "" {
			// A director-env get's director.env names no region: take the first the stemcell has.
			region = sortedNames(mf.CloudProperties.ImageID)[0]
			fmt.Fprintf(os.Stderr, "bosh-double: no BOSH_DOUBLE_REGION: the director's region is %s\n", region)
		}
		id, ok := mf.CloudProperties.ImageID[region]
		if !ok {
			return false, fmt.Errorf("CPI error 'Bosh::Clouds::CloudError' with message 'Can't find stemcell for Region: %s' in 'create_stemcell' CPI method", region)
		}
		cid = id
	}
	d.Stemcells = append(d.Stemcells, stemcell{Name: mf.Name, OS: mf.OS, Version: mf.Version, CID: cid})
	fmt.Printf("Uploaded stemcell %s/%s as %s\n", mf.Name, mf.Version, cid)
	return true, nil
}

func uploadRelease(d *director, c call) (bool, error) {
	if len(c.args) < 2 {
		return false, errors.New("upload-release needs a release tarball")
	}
	raw, err := readTarMember(c.args[1], "release.MF")
	if err != nil {
		return false, err
	}
	var mf struct {
		Name    string `yaml:"name"`
		Version string `yaml:"version"`
		Commit  string `yaml:"commit_hash"`
	}
	if err := yaml.Unmarshal(raw, &mf); err != nil {
		return false, fmt.Errorf("release.MF: %w", err)
	}
	for _, r := range d.Releases {
		if r.Name == mf.Name && r.Version == mf.Version {
			fmt.Printf("Release '%s/%s' already exists.\n", mf.Name, mf.Version)
			return false, nil
		}
	}
	d.Releases = append(d.Releases, release{Name: mf.Name, Version: mf.Version, Commit: mf.Commit})
	fmt.Printf("Uploaded release %s/%s\n", mf.Name, mf.Version)
	return true, nil
}

func updateCloudConfig(d *director, c call) (bool, error) {
	if len(c.args) < 2 {
		return false, errors.New("update-cloud-config needs a file")
	}
	raw, err := os.ReadFile(c.args[1])
	if err != nil {
		return false, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return false, fmt.Errorf("cloud-config: %w", err)
	}
	for _, key := range []string{"azs", "networks", "vm_types", "compilation"} {
		if _, ok := doc[key]; !ok {
			return false, fmt.Errorf("cloud-config: missing %s", key)
		}
	}
	d.CloudConfig = string(raw)
	return true, nil
}

func showCloudConfig(d *director, _ call) (bool, error) {
	fmt.Print(d.CloudConfig)
	return false, nil
}

func deploy(d *director, c call) (bool, error) {
	if c.deployment == "" || len(c.args) < 2 {
		return false, errors.New("deploy needs -d DEPLOYMENT and a manifest")
	}
	if d.CloudConfig == "" {
		return false, errors.New("no cloud-config: update-cloud-config first")
	}
	raw, err := os.ReadFile(c.args[1])
	if err != nil {
		return false, err
	}
	var m struct {
		Name     string `yaml:"name"`
		Releases []struct {
			Name    string `yaml:"name"`
			Version string `yaml:"version"`
		} `yaml:"releases"`
		Stemcells []struct {
			Alias   string `yaml:"alias"`
			OS      string `yaml:"os"`
			Name    string `yaml:"name"`
			Version string `yaml:"version"`
		} `yaml:"stemcells"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return false, fmt.Errorf("manifest: %w", err)
	}
	if m.Name != c.deployment {
		return false, fmt.Errorf("manifest name %q is not the deployment %q", m.Name, c.deployment)
	}
	dep := deployment{Manifest: string(raw)}
	for _, r := range m.Releases {
		found := ""
		for _, have := range d.Releases {
			if have.Name == r.Name && (r.Version == "latest" || have.Version == r.Version) {
				found = have.Name + "/" + have.Version
			}
		}
		if found == "" {
			return false, fmt.Errorf("release '%s/%s' doesn't exist", r.Name, r.Version)
		}
		dep.Releases = append(dep.Releases, found)
	}
	for _, s := range m.Stemcells {
		found := ""
		for _, have := range d.Stemcells {
			if (have.OS == s.OS || have.Name == s.Name) && (s.Version == "latest" || have.Version == s.Version) {
				found = have.Name + "/" + have.Version
			}
		}
		if found == "" {
			return false, fmt.Errorf("stemcell %s%s/%s doesn't exist", s.OS, s.Name, s.Version)
		}
		dep.Stemcells = append(dep.Stemcells, found)
	}
	dep.Disks = []disk{{CID: "d-" + c.deployment + "1", Size: "10 GiB", Deployment: c.deployment, Instance: "test/0", AZ: "z1"}}
	d.Deployments[c.deployment] = dep
	fmt.Printf("Deployed %s\n", c.deployment)
	return true, nil
}

func runErrand(d *director, c call) (bool, error) {
	if c.deployment == "" || len(c.args) < 2 {
		return false, errors.New("run-errand needs -d DEPLOYMENT and an errand")
	}
	if _, ok := d.Deployments[c.deployment]; !ok {
		return false, fmt.Errorf("deployment '%s' doesn't exist", c.deployment)
	}
	errand := c.args[1]
	if os.Getenv("BOSH_DOUBLE_ERRAND_FAIL") == errand {
		fmt.Printf("Errand '%s' completed with error (exit code 1)\n", errand)
		return false, exitError(1)
	}
	fmt.Printf("Errand '%s' completed successfully (exit code 0)\n", errand)
	return false, nil
}

func deleteDeployment(d *director, c call) (bool, error) {
	dep, ok := d.Deployments[c.deployment]
	if !ok {
		return false, nil // bosh succeeds on a deployment that is gone
	}
	for _, k := range dep.Disks {
		k.OrphanedAt = "Tue Dec  1 00:00:00 UTC 2026"
		d.Orphaned = append(d.Orphaned, k)
	}
	delete(d.Deployments, c.deployment)
	return true, nil
}

func deleteDisk(d *director, c call) (bool, error) {
	if len(c.args) < 2 {
		return false, errors.New("delete-disk needs a disk CID")
	}
	for i, k := range d.Orphaned {
		if k.CID == c.args[1] {
			d.Orphaned = append(d.Orphaned[:i], d.Orphaned[i+1:]...)
			return true, nil
		}
	}
	return false, fmt.Errorf("orphaned disk '%s' doesn't exist", c.args[1])
}

func deleteStemcell(d *director, c call) (bool, error) {
	if len(c.args) < 2 {
		return false, errors.New("delete-stemcell needs NAME/VERSION")
	}
	if d.used("stemcell", c.args[1]) {
		return false, fmt.Errorf("stemcell '%s' is still in use", c.args[1])
	}
	for i, s := range d.Stemcells {
		if s.Name+"/"+s.Version == c.args[1] {
			d.Stemcells = append(d.Stemcells[:i], d.Stemcells[i+1:]...)
			return true, nil
		}
	}
	return false, nil
}

func deleteRelease(d *director, c call) (bool, error) {
	if len(c.args) < 2 {
		return false, errors.New("delete-release needs NAME/VERSION")
	}
	if d.used("release", c.args[1]) {
		return false, fmt.Errorf("release '%s' is still in use", c.args[1])
	}
	for i, r := range d.Releases {
		if r.Name+"/"+r.Version == c.args[1] {
			d.Releases = append(d.Releases[:i], d.Releases[i+1:]...)
			return true, nil
		}
	}
	return false, nil
}

func showEnv(_ *director, c call) (bool, error) {
	rows := []map[string]string{{"name": "bosh-double", "uuid": "00000000-0000-0000-0000-000000000000",
		"version": "282.0.0", "director_stemcell": "ubuntu-jammy/1.484", "cpi": "alicloud_cpi", "user": os.Getenv("BOSH_CLIENT")}}
	return false, table(c, "", []string{"name", "uuid", "version", "director_stemcell", "cpi", "user"}, rows)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
