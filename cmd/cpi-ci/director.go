package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

const directorUsage = `usage: cpi-ci director break-expired|prepare [flags]

  prepare --bosh-deployment DIR --environment DIR --cpi-release X --stemcell X --output DIR ...
      render a director manifest for the director-env resource's create (cpi-ci director
      prepare --help; the prepare-director task)

  break-expired --region R --bucket B (--prefix P | --pool P)
      break every expired lease of the director envs (bosh-director-env resource) under the
      prefix, or in the pool (a prefix below --prefix), recording a released revision for each;
      unexpired leases are kept. Meant for a scheduled cleanup job.

Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and
ALIBABA_CLOUD_SECURITY_TOKEN, or --ram-role. Each env whose lease was broken is printed on
stdout; logs go to stderr.
`

// runDirector holds the director-env helpers of scheduled jobs.
func runDirector(ctx context.Context, args []string, s stdio) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand\n\n%s", directorUsage)
	}
	switch args[0] {
	case "prepare":
		return runDirectorPrepare(ctx, args[1:], s)
	case "break-expired":
	case "teardown": // director_teardown.go
		return runDirectorTeardown(ctx, args[1:], s)
	case "-h", "--help", "help":
		_, _ = fmt.Fprint(s.err, directorUsage) // stderr is the last resort: nowhere to report its failure
		return flag.ErrHelp
	default:
		return fmt.Errorf("unknown subcommand %q\n\n%s", args[0], directorUsage)
	}
	fs := flags("director break-expired", s)
	var cloud alicloud.Cloud
	fs.StringVar(&cloud.Region, "region", "", "the bucket's region (required)")
	fs.StringVar(&cloud.Bucket, "bucket", "", "the bucket the envs live in (required)")
	fs.StringVar(&cloud.Prefix, "prefix", "", "the prefix of the envs, as the resource's source has it")
	pool := fs.String("pool", "", "a pool: its prefix below --prefix, as the resource's source has it")
	fs.StringVar(&cloud.OSSEndpoint, "oss-endpoint", "", "OSS endpoint override, e.g. the emulator's URL")
	fs.StringVar(&cloud.RAMRole, "ram-role", "", "use this ECS RAM role instead of access keys")
	who := fs.String("who", "cpi-ci director break-expired", "recorded in the released revisions")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), directorUsage)
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--region", cloud.Region}, {"--bucket", cloud.Bucket}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if cloud.Prefix == "" && *pool == "" {
		missing = append(missing, "--prefix or --pool")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s\n\n%s", strings.Join(missing, ", "), directorUsage)
	}
	session, _, log, err := openCloud(cloud, s)
	if err != nil {
		return err
	}
	objects, err := session.StoreIn(cloud.Region, cloud.Bucket, cloud.Prefix+*pool)
	if err != nil {
		return err
	}
	store := director.Store{Objects: objects}
	envs, err := store.Envs(ctx)
	if err != nil {
		return err
	}
	broken := 0
	for _, env := range envs {
		broke, err := store.BreakExpired(ctx, env, *who, log)
		if err != nil {
			return fmt.Errorf("env %s: %w", env, err)
		}
		if broke {
			broken++
			if err := s.printf("%s\n", env); err != nil {
				return err
			}
		}
	}
	log.Printf("broke %d expired lease(s) of %d env(s) under %s%s", broken, len(envs), cloud.Prefix, *pool)
	return nil
}
