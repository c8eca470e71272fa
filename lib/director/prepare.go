package director

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Credential sources of the director-env resource's cloud block, as prepare-director is told
// them: only static keys last; the others are temporary.
const (
	CredentialsStatic     = "static"
	CredentialsSTS        = "sts"
	CredentialsAssumeRole = "assume_role"
	CredentialsRAMRole    = "ram_role"
)

// PrepareRequest is one rendering of a director manifest for the director-env resource's create
// from a bosh-deployment checkout, a test environment and local releases and stemcell. Paths
// are absolute or relative to the working directory.
type PrepareRequest struct {
	BoshDeployment string   // bosh.yml, alicloud/cpi.yml, jumpbox-user.yml
	Environment    string   // the environment task's output: metadata, name, ssh.key
	CPIRelease     string   // the CPI release tarball
	Stemcell       string   // the stemcell tarball
	BoshRelease    string   // the bosh release tarball; empty: bosh.yml's
	PackOps        string   // the pack's ops files: local-releases.yml, local-bosh-release.yml, ssh-tunnel.yml, director-ram-role.yml
	OpsFiles       []string // extra ops files, applied last
	// Credentials is how the director-env resource authenticates (a Credentials* constant);
	// temporary ones need RAMRole.
	Credentials string
	// RAMRole gives the director VM the environment's RAM role (metadata ram_role) for its own
	// CPI, instead of the credentials.
	RAMRole bool
	// Output is where director.yml will be: the manifest's paths are relative to it, as bosh
	// and the director-env resource resolve them.
	Output string
	// Override names the params that lift a refusal, for the errors: USE_RAM_ROLE and
	// CREDENTIAL_SOURCE in the task.
	RAMRoleParam, CredentialsParam string
}

// Prepared is the rendered manifest and the vars it was rendered with (no secret among them).
type Prepared struct {
	Manifest []byte
	Vars     []byte
	OpsFiles []string // what the manifest was rendered with, in order
}

// Interpolator renders a manifest with ops and vars files: the bosh CLI.
type Interpolator interface {
	Interpolate(ctx context.Context, dir, manifest string, opsFiles, varsFiles []string) ([]byte, error)
}

// metadataVars are the vars bosh-deployment's files and the pack's ops read from the
// environment's metadata.
var metadataVars = []string{"internal_cidr", "internal_gw", "internal_ip", "external_ip", "vswitch_id", "security_group_id", "zone", "region", "key_pair_name"}

// Prepare checks the inputs (naming every problem at once), writes the vars to varsFile (which
// must not exist) and renders the manifest with the real bosh interpolate. Cloud credentials
// stay ((access_key_id)), ((access_key_secret)), ((security_token)); the SSH key is a path.
func Prepare(ctx context.Context, bosh Interpolator, req PrepareRequest, varsFile string) (Prepared, error) {
	var problems []string
	need := func(path, what string) {
		if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
			problems = append(problems, fmt.Sprintf("%s: no file %s", what, path))
		}
	}
	bd := func(rel string) string { return filepath.Join(req.BoshDeployment, rel) }
	for _, rel := range []string{"bosh.yml", "alicloud/cpi.yml", "jumpbox-user.yml"} {
		need(bd(rel), "bosh-deployment")
	}
	env := func(rel string) string { return filepath.Join(req.Environment, rel) }
	for _, rel := range []string{"metadata", "name", "ssh.key"} {
		need(env(rel), "environment")
	}
	for _, o := range req.OpsFiles {
		need(o, "ops file")
	}
	temporary := false
	switch req.Credentials {
	case CredentialsStatic:
	case CredentialsSTS, CredentialsAssumeRole, CredentialsRAMRole:
		temporary = true
	default:
		problems = append(problems, fmt.Sprintf("%s: expected %s, %s, %s or %s (how the director-env resource authenticates), got %q",
			req.CredentialsParam, CredentialsStatic, CredentialsSTS, CredentialsAssumeRole, CredentialsRAMRole, req.Credentials))
	}
	if temporary && !req.RAMRole {
		problems = append(problems, fmt.Sprintf("%s=%s is temporary credentials, which would expire inside the director's own CPI config: set %s=true (the director VM's CPI then uses the environment's RAM role)",
			req.CredentialsParam, req.Credentials, req.RAMRoleParam))
	}
	if len(problems) > 0 {
		return Prepared{}, errors.New(strings.Join(problems, "; "))
	}

	metadata, err := readFlatJSON(env("metadata"))
	if err != nil {
		return Prepared{}, err
	}
	name, err := os.ReadFile(env("name"))
	if err != nil {
		return Prepared{}, fmt.Errorf("reading the environment's name: %w", err)
	}
	vars := map[string]string{"director_name": strings.TrimSpace(string(name))}
	var missing []string
	for _, k := range metadataVars {
		if metadata[k] == "" {
			missing = append(missing, k)
		}
		vars[k] = metadata[k]
	}
	if req.RAMRole {
		if metadata["ram_role"] == "" {
			missing = append(missing, fmt.Sprintf("ram_role (%s=true gives it to the director VM)", req.RAMRoleParam))
		}
		vars["director_ram_role"] = metadata["ram_role"]
	}
	if len(missing) > 0 {
		return Prepared{}, fmt.Errorf("the environment's metadata lacks %s", strings.Join(missing, ", "))
	}
	rel := func(path string) (string, error) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", err
		}
		out, err := filepath.Abs(req.Output)
		if err != nil {
			return "", err
		}
		return filepath.Rel(out, abs)
	}
	if vars["private_key"], err = rel(env("ssh.key")); err != nil {
		return Prepared{}, err
	}
	ops := []string{bd("alicloud/cpi.yml"), bd("jumpbox-user.yml"), filepath.Join(req.PackOps, "local-releases.yml"), filepath.Join(req.PackOps, "ssh-tunnel.yml")}
	local := map[string]string{"cpi_release": req.CPIRelease, "stemcell": req.Stemcell}
	if req.BoshRelease != "" {
		local["bosh_release"] = req.BoshRelease
		ops = append(ops, filepath.Join(req.PackOps, "local-bosh-release.yml"))
	}
	for key, path := range local {
		if vars[key+"_path"], err = rel(path); err != nil {
			return Prepared{}, err
		}
		if vars[key+"_sha1"], err = fileSHA1(path); err != nil {
			return Prepared{}, err
		}
	}
	if req.RAMRole {
		ops = append(ops, filepath.Join(req.PackOps, "director-ram-role.yml"))
	}
	ops = append(ops, req.OpsFiles...)

	varsYAML, err := yaml.Marshal(vars)
	if err != nil {
		return Prepared{}, err
	}
	f, err := os.OpenFile(varsFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return Prepared{}, fmt.Errorf("writing the vars file: %w", err)
	}
	_, err = f.Write(varsYAML)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return Prepared{}, fmt.Errorf("writing the vars file: %w", err)
	}
	manifest, err := bosh.Interpolate(ctx, "", bd("bosh.yml"), ops, []string{varsFile})
	if err != nil {
		return Prepared{}, err
	}
	return Prepared{Manifest: manifest, Vars: varsYAML, OpsFiles: ops}, nil
}

// readFlatJSON reads a flat JSON object (the environment's metadata); numbers and booleans
// become their JSON text, nested values are skipped.
func readFlatJSON(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the environment's metadata: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("the environment's metadata %s is not a JSON object: %w", path, err)
	}
	out := map[string]string{}
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// fileSHA1 is the hex SHA-1 of a file, read in bounded memory: what bosh checks a local release
// or stemcell against.
func fileSHA1(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }() // read-only: its close has nothing to report
	sum := sha1.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}
