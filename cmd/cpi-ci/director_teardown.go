package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/boshcli"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

const teardownUsage = `usage: cpi-ci director teardown [--metadata FILE] [--region R]

Empties the director the environment targets (BOSH_ENVIRONMENT, BOSH_CLIENT,
BOSH_CLIENT_SECRET, BOSH_CA_CERT, BOSH_ALL_PROXY: source director-state/director.env first), in
this order:

  1. every deployment: bosh -d NAME delete-deployment --force
  2. every orphaned disk: bosh delete-disk CID
  3. every stemcell no deployment uses, except light ones: bosh delete-stemcell NAME/VERSION.
     A stemcell is light when its image (its CID) carries the light-stemcell builder's tags
     (ECS DescribeImages, through the task's cloud params ALICLOUD_*); deleting it through the
     director would run the CPI's delete_stemcell, which deletes the published image. An image
     that cannot be looked up is kept as if it were light.
  4. every release no deployment uses: bosh delete-release NAME/VERSION

bosh clean-up is never run. A failed deletion does not stop the others: every step is tried,
then the command fails naming each failure.

  --metadata  the env's metadata (JSON, director-state/metadata): its region is where the
              stemcell images are looked up
  --region    that region instead (default: the metadata's, else ALICLOUD_REGION)
`

func runDirectorTeardown(ctx context.Context, args []string, s stdio) error {
	fs := flags("director teardown", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, teardownUsage) } // help goes to stderr: nowhere else to report it
	metadata := fs.String("metadata", "", "the env's metadata file (its region)")
	regionFlag := fs.String("region", "", "the region of the stemcell images")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), teardownUsage)
	}
	if os.Getenv("BOSH_ENVIRONMENT") == "" {
		return fmt.Errorf("BOSH_ENVIRONMENT is not set: source the director-state input's director.env first\n\n%s", teardownUsage)
	}
	region := *regionFlag
	if region == "" && *metadata != "" {
		var err error
		if region, err = metadataRegion(*metadata); err != nil {
			return err
		}
	}
	session, log, err := openTaskCloud("", s)
	if err != nil {
		return err
	}
	log.Secrets().Register(os.Getenv("BOSH_CLIENT_SECRET"))
	// bosh needs no cloud credentials: the session has read them, bosh does not inherit them.
	for _, name := range credentialInputs {
		if err := os.Unsetenv(name); err != nil {
			return err
		}
	}
	if region == "" {
		region = session.Cloud().Region
	}
	bosh := boshcli.CLI{Log: log}

	var failures []string
	fail := func(err error) {
		log.Errorf("%v", err)
		failures = append(failures, err.Error())
	}
	list := func(args ...string) []boshcli.Row {
		rows, err := bosh.Table(ctx, args...)
		if err != nil {
			fail(err)
		}
		return rows
	}

	for _, d := range list("deployments") {
		log.Printf("deleting deployment %s", d["name"])
		if err := bosh.Director(ctx, "-d", d["name"], "delete-deployment", "--force"); err != nil {
			fail(err)
		}
	}
	for _, d := range list("disks", "--orphaned") {
		log.Printf("deleting orphaned disk %s", d["disk_cid"])
		if err := bosh.Director(ctx, "delete-disk", d["disk_cid"]); err != nil {
			fail(err)
		}
	}
	for _, st := range list("stemcells") {
		slug, inUse := rowSlug(st)
		if inUse {
			log.Printf("keeping stemcell %s: a deployment uses it", slug)
			continue
		}
		light, err := director.LightStemcellImage(ctx, session, region, st["cid"])
		switch {
		case light == director.Unknown:
			log.Warnf("keeping stemcell %s: could not look up its image %s in %s (%v), so it is kept as if it were light", slug, st["cid"], region, err)
			continue
		case light.Keep():
			log.Printf("keeping stemcell %s: its image %s is a light stemcell's (deleting it would delete the published image)", slug, st["cid"])
			continue
		}
		log.Printf("deleting stemcell %s (image %s)", slug, st["cid"])
		if err := bosh.Director(ctx, "delete-stemcell", slug); err != nil {
			fail(err)
		}
	}
	for _, rel := range list("releases") {
		slug, inUse := rowSlug(rel)
		if inUse {
			log.Printf("keeping release %s: a deployment uses it", slug)
			continue
		}
		log.Printf("deleting release %s", slug)
		if err := bosh.Director(ctx, "delete-release", slug); err != nil {
			fail(err)
		}
	}
	if len(failures) > 0 {
		return errors.New("teardown: " + strings.Join(failures, "; "))
	}
	log.Printf("the director holds no deployment, no orphaned disk, no unused heavy stemcell and no unused release")
	return nil
}

// rowSlug is a stemcells or releases row's NAME/VERSION, and whether bosh marks the version
// as currently deployed (a "*" after it).
func rowSlug(row boshcli.Row) (slug string, inUse bool) {
	version, inUse := strings.CutSuffix(row["version"], "*")
	return row["name"] + "/" + version, inUse
}

// metadataRegion reads region from an env's metadata (JSON).
func metadataRegion(path string) (string, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the env's metadata: %w", err)
	}
	var doc struct {
		Region string `json:"region"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("the env's metadata %s: %w", path, err)
	}
	return doc.Region, nil
}
