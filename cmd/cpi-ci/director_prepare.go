package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/boshcli"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

const directorPrepareUsage = `usage: cpi-ci director prepare --bosh-deployment DIR --environment DIR --cpi-release DIR_OR_TGZ
       --stemcell DIR_OR_TGZ [--bosh-release DIR_OR_TGZ] --pack-ops DIR [--ops-file PATH]...
       --credential-source static|sts|assume_role|ram_role [--ram-role=true|false]
       [--allow-encrypted] --output DIR

Render director.yml and vars.yml into --output (the prepare-director task; docs/tasks.md) for
the director-env resource's create: the real bosh interpolate of bosh.yml with alicloud/cpi.yml,
jumpbox-user.yml, the pack's ops (local CPI release and stemcell, bosh release when given, the
SSH tunnel, and with --ram-role the director RAM-role ops) and each --ops-file, with vars.yml
(the environment's metadata, director_name, paths and SHA-1s; no secret). Cloud credentials
stay ((access_key_id)), ((access_key_secret)), ((security_token)); the SSH key is the path of
environment/ssh.key, relative to --output like every path in director.yml. Temporary
credentials need --ram-role. A light stemcell is refused when cloud_provider's CPI sets
encrypted (cpi-ci stemcell guard). Nothing is written unless everything worked.
`

// runDirectorPrepare is the prepare-director task's logic.
func runDirectorPrepare(ctx context.Context, args []string, s stdio) error {
	fs := flags("director prepare", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, directorPrepareUsage) } // help goes to stderr: nowhere else to report it
	var req director.PrepareRequest
	fs.StringVar(&req.BoshDeployment, "bosh-deployment", "", "a bosh-deployment checkout (required)")
	fs.StringVar(&req.Environment, "environment", "", "the environment task's output (required)")
	cpi := fs.String("cpi-release", "", "the CPI release tarball or a directory holding one (required)")
	stemcellPath := fs.String("stemcell", "", "the stemcell tarball or a directory holding one (required)")
	boshRelease := fs.String("bosh-release", "", "the bosh release tarball or a directory holding one")
	fs.StringVar(&req.PackOps, "pack-ops", "", "the pack's ops files: tasks/prepare-director/ops (required)")
	var ops multiFlag
	fs.Var(&ops, "ops-file", "an extra ops file, applied last (repeatable)")
	fs.StringVar(&req.Credentials, "credential-source", "", "how the director-env resource authenticates: static, sts, assume_role or ram_role (required)")
	fs.BoolVar(&req.RAMRole, "ram-role", true, "give the director VM's CPI the environment's RAM role instead of the credentials")
	allow := fs.Bool("allow-encrypted", false, "accept a light stemcell although cloud_provider's CPI sets encrypted")
	fs.StringVar(&req.Output, "output", "", "where director.yml and vars.yml go (required)")
	fs.StringVar(&req.CredentialsParam, "credential-source-name", "--credential-source", "the name of --credential-source in errors (a task's param)")
	fs.StringVar(&req.RAMRoleParam, "ram-role-name", "--ram-role", "the name of --ram-role in errors (a task's param)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"--bosh-deployment", req.BoshDeployment}, {"--environment", req.Environment}, {"--cpi-release", *cpi},
		{"--stemcell", *stemcellPath}, {"--pack-ops", req.PackOps}, {"--output", req.Output},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 || fs.NArg() > 0 {
		return fmt.Errorf("missing %s or unexpected arguments\n\n%s", strings.Join(missing, ", "), directorPrepareUsage)
	}
	req.OpsFiles = ops
	var problems []string
	for _, in := range []struct {
		path, input string
		to          *string
	}{{*cpi, "cpi-release", &req.CPIRelease}, {*stemcellPath, "stemcell", &req.Stemcell}, {*boshRelease, "bosh-release", &req.BoshRelease}} {
		if in.path == "" {
			continue
		}
		tarball, err := findTarball(in.path, in.input)
		if err != nil {
			problems = append(problems, err.Error())
		}
		*in.to = tarball
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	if err := os.MkdirAll(req.Output, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(req.Output, ".prepare-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }() // what is left of a failed run: nothing to report
	log := concourse.NewLogger(s.err, concourse.NewRedactor(), os.Getenv("NO_COLOR") == "")
	prepared, err := director.Prepare(ctx, boshcli.CLI{Log: log}, req, filepath.Join(tmp, "vars.yml"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "director.yml"), prepared.Manifest, 0o644); err != nil {
		return err
	}
	if err := guardStemcell(req.Stemcell, filepath.Join(tmp, "director.yml"), director.ToCreateEnv, *allow, s); err != nil {
		return err
	}
	for _, name := range []string{"vars.yml", "director.yml"} {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(req.Output, name)); err != nil {
			return err
		}
	}
	log.Printf("rendered %s/director.yml from %s with %s", req.Output, filepath.Join(req.BoshDeployment, "bosh.yml"), strings.Join(prepared.OpsFiles, ", "))
	return nil
}
