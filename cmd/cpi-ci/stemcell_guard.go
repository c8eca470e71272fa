package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

const stemcellGuardUsage = `usage: cpi-ci stemcell guard --stemcell DIR_OR_TGZ --manifest DIRECTOR_YML
       [--to create-env|director] [--allow-encrypted]

Refuse a light stemcell for a director whose CPI config sets encrypted (to true or to an
unresolved variable): the CPI's create_stemcell would copy the light stemcell's image encrypted
and then delete the image itself, the one the light-stemcell resource published for every
director. A heavy stemcell always passes.

  --stemcell         a stemcell tarball, or a directory holding exactly one *.tgz (a get)
  --manifest         the director manifest (a rendered director.yml, or director-state's)
  --to               where the stemcell goes: director (default; bosh upload-stemcell: the
                     director's own CPI, /instance_groups/*/properties/alicloud and its jobs'
                     properties) or create-env (the director VM's own stemcell:
                     /cloud_provider/properties/alicloud)
  --allow-encrypted  accept it anyway (tasks: ALLOW_ENCRYPTED_LIGHT_STEMCELL=true), with a warning

Exits 1 naming the stemcell, each setting and the override.
`

// overrideName is how a refused user accepts the light stemcell anyway: the flag, and the param
// every task that runs the guard takes.
const overrideName = "ALLOW_ENCRYPTED_LIGHT_STEMCELL=true (cpi-ci stemcell guard --allow-encrypted)"

// runStemcellGuard is the encrypted-disk guard of the tasks that upload stemcells.
func runStemcellGuard(_ context.Context, args []string, s stdio) error {
	fs := flags("stemcell guard", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, stemcellGuardUsage) } // help goes to stderr: nowhere else to report it
	stemcellPath := fs.String("stemcell", "", "a stemcell tarball or a directory holding one (required)")
	manifest := fs.String("manifest", "", "the director manifest (required)")
	to := fs.String("to", director.ToDirector, "where the stemcell goes: director or create-env")
	allow := fs.Bool("allow-encrypted", false, "accept a light stemcell with encrypted disks anyway")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stemcellPath == "" || *manifest == "" || fs.NArg() > 0 {
		return fmt.Errorf("expected --stemcell and --manifest and no arguments\n\n%s", stemcellGuardUsage)
	}
	return guardStemcell(*stemcellPath, *manifest, *to, *allow, s)
}

// guardStemcell runs the guard; prepare-director calls it too.
func guardStemcell(stemcellPath, manifestPath, to string, allow bool, s stdio) error {
	tarball, err := findTarball(stemcellPath, "stemcell")
	if err != nil {
		return err
	}
	m, err := director.ReadStemcellManifest(tarball)
	if err != nil {
		return err
	}
	manifest, err := os.ReadFile(manifestPath)
	if err != nil {
		return fmt.Errorf("reading the director manifest: %w", err)
	}
	err = director.GuardLightStemcell(m, manifest, to, overrideName)
	var refused *director.LightStemcellRefused
	if errors.As(err, &refused) && allow {
		log := concourse.NewLogger(s.err, concourse.NewRedactor(), os.Getenv("NO_COLOR") == "")
		log.Warnf("accepting the light stemcell %s although the director's CPI config sets encrypted (allowed): its image will be copied and then deleted", refused.Stemcell)
		return nil
	}
	return err
}
