package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/release/records"
)

const releaseUsage = `usage: cpi-ci release prune [flags]

  prune --release NAME [--older-than 24h] [--dry-run]
      abort the unfinished multipart uploads of NAME's tarballs (what a killed out left) that
      were started longer ago than the age; younger ones may belong to a put still going

Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and
ALIBABA_CLOUD_SECURITY_TOKEN, or --ram-role. What is aborted (or would be) is printed on stdout,
one line per upload; logs go to stderr.
`

// runRelease is the retention of the bosh-release resource's bucket.
func runRelease(ctx context.Context, args []string, s stdio) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand\n\n%s", releaseUsage)
	}
	if verb := args[0]; verb != "prune" {
		if verb == "-h" || verb == "--help" || verb == "help" {
			_, _ = fmt.Fprint(s.err, releaseUsage) // stderr is the last resort: nowhere to report its failure
			return flag.ErrHelp
		}
		return fmt.Errorf("unknown subcommand %q\n\n%s", verb, releaseUsage)
	}
	fs := flags("release prune", s)
	var cloud alicloud.Cloud
	fs.StringVar(&cloud.Region, "region", "", "the bucket's region (required)")
	fs.StringVar(&cloud.Bucket, "bucket", "", "the bucket of the release records and tarballs (required)")
	fs.StringVar(&cloud.Prefix, "prefix", "", "prefix of every object name, as the resource's source has it")
	fs.StringVar(&cloud.OSSEndpoint, "oss-endpoint", "", "OSS endpoint override, e.g. the emulator's URL")
	fs.StringVar(&cloud.RAMRole, "ram-role", "", "use this ECS RAM role instead of access keys")
	name := fs.String("release", "", "the release, as source.name has it (required)")
	olderThan := fs.Duration("older-than", defaultUploadsAge, "abort uploads started longer ago than this")
	dryRun := fs.Bool("dry-run", false, "only list what would be aborted")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), releaseUsage)
	}
	var missing []string
	for _, f := range []struct{ flag, value string }{{"--release", *name}, {"--region", cloud.Region}, {"--bucket", cloud.Bucket}} {
		if f.value == "" {
			missing = append(missing, f.flag)
		}
	}
	if *olderThan <= 0 {
		missing = append(missing, "--older-than (a positive duration)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s\n\n%s", strings.Join(missing, ", "), releaseUsage)
	}
	_, store, _, err := openCloud(cloud, s)
	if err != nil {
		return err
	}
	releases := records.Releases{Objects: store, Name: *name}
	n, err := pruneUploads(ctx, store, []string{releases.TarballsPrefix()}, *olderThan, *dryRun, s.out)
	if err == nil && n == 0 {
		_, _ = fmt.Fprintf(s.err, "no unfinished upload of %s is older than %s\n", *name, *olderThan) // a note: stdout (empty) is the answer
	}
	return err
}
