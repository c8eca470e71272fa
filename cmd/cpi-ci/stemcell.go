package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/retention"
)

const stemcellUsage = `usage: cpi-ci stemcell prune|delete-version|verify|copy-times|guard [flags]

  guard --stemcell DIR_OR_TGZ --manifest DIRECTOR_YML [--to create-env|director] [--allow-encrypted]
      refuse a light stemcell for a director whose CPI config sets encrypted (cpi-ci stemcell
      guard --help)

  prune --stemcell LINE --older-than 168h [--regions a,b] [--dry-run]
        [--uploads-older-than 24h] [--image-bucket BUCKET]
      delete the images of LINE older than the age whose version has no published record,
      with their snapshots; images of published versions are never touched. Then abort the
      unfinished multipart uploads killed builds left (light tarballs under LINE, root.img in
      the image bucket, default --bucket) started longer ago than --uploads-older-than
  delete-version --stemcell LINE --version 1.484 [--regions a,b]
      delete a version entirely: its images with their snapshots, then its tarball objects,
      then its records on both channels last (a failed run leaves them for the rerun, which
      still finds the images outside --regions); running it again is fine
  verify --stemcell LINE
      check that every image the records of LINE name (both channels) still exists and is
      Available, one DescribeImages per region; print each lost one and fail naming them and
      how to rebuild them (a director's delete_stemcell deletes the image it is given)
  copy-times --stemcell LINE
      print the image copy times the resource measured for LINE (they order the copies of its
      next build), slowest first

Regions default to every region ECS offers. Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID,
ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN, or --ram-role. What is
deleted (or would be) is printed on stdout, one line per image or object; logs go to stderr.
`

// runStemcell is the retention of light stemcells: pruning unpublished images and deleting
// whole versions.
func runStemcell(ctx context.Context, args []string, s stdio) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand\n\n%s", stemcellUsage)
	}
	verb := args[0]
	if verb == "guard" {
		return runStemcellGuard(ctx, args[1:], s)
	}
	if verb != "prune" && verb != "delete-version" && verb != "verify" && verb != "copy-times" {
		if verb == "-h" || verb == "--help" || verb == "help" {
			_, _ = fmt.Fprint(s.err, stemcellUsage) // stderr is the last resort: nowhere to report its failure
			return flag.ErrHelp
		}
		return fmt.Errorf("unknown subcommand %q\n\n%s", verb, stemcellUsage)
	}
	fs := flags("stemcell "+verb, s)
	var cloud alicloud.Cloud
	fs.StringVar(&cloud.Region, "region", "", "the bucket's region, also where regions are listed (required)")
	fs.StringVar(&cloud.Bucket, "bucket", "", "the bucket of the stemcell records and tarballs (required)")
	fs.StringVar(&cloud.Prefix, "prefix", "", "prefix of every object name, as the resource's source has it")
	fs.StringVar(&cloud.OSSEndpoint, "oss-endpoint", "", "OSS endpoint override, e.g. the emulator's URL")
	fs.StringVar(&cloud.ECSEndpoint, "ecs-endpoint", "", "ECS endpoint override, e.g. the emulator's URL")
	fs.StringVar(&cloud.RAMRole, "ram-role", "", "use this ECS RAM role instead of access keys")
	line := fs.String("stemcell", "", "the stemcell line, e.g. bosh-alicloud-kvm-ubuntu-noble (required)")
	regionList := new(string)
	if verb != "copy-times" && verb != "verify" {
		fs.StringVar(regionList, "regions", "", "comma-separated regions (default: every region)")
	}
	var olderThan, uploadsOlderThan time.Duration
	var dryRun bool
	var ver, imageBucket string
	switch verb {
	case "prune":
		fs.DurationVar(&olderThan, "older-than", 0, "prune images older than this, e.g. 168h (required)")
		fs.BoolVar(&dryRun, "dry-run", false, "only list what would be deleted")
		fs.DurationVar(&uploadsOlderThan, "uploads-older-than", defaultUploadsAge, "abort unfinished uploads started longer ago than this")
		fs.StringVar(&imageBucket, "image-bucket", "", "the bucket builds upload root.img to, as params.image_bucket has it (default: --bucket)")
	case "delete-version":
		fs.StringVar(&ver, "version", "", "the version to delete, e.g. 1.484 (required)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), stemcellUsage)
	}
	var missing []string
	if *line == "" {
		missing = append(missing, "--stemcell")
	}
	if verb == "prune" && olderThan <= 0 {
		missing = append(missing, "--older-than (a positive duration)")
	}
	if verb == "prune" && uploadsOlderThan <= 0 {
		missing = append(missing, "--uploads-older-than (a positive duration)")
	}
	if verb == "delete-version" && ver == "" {
		missing = append(missing, "--version")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s\n\n%s", strings.Join(missing, ", "), stemcellUsage)
	}
	var regions []string
	for _, r := range strings.Split(*regionList, ",") {
		if r = strings.TrimSpace(r); r != "" {
			regions = append(regions, r)
		}
	}

	session, store, log, err := openCloud(cloud, s)
	if err != nil {
		return err
	}

	if verb == "copy-times" {
		return printCopyTimes(ctx, store, *line, s.out)
	}
	if verb == "verify" {
		return verifyLine(ctx, session, store, *line, s)
	}
	if verb == "delete-version" {
		return retention.DeleteVersion(ctx, session, store, *line, ver, regions, &stdoutLog{out: s.out, warn: log})
	}
	// The library's progress lines duplicate what is printed below: only its warnings are shown.
	pruned, err := retention.PruneUnpublished(ctx, session, store, *line, regions, olderThan, dryRun, warningsOnly{log})
	did := "deleted"
	if dryRun {
		did = "would delete"
	}
	for _, p := range pruned {
		if _, werr := fmt.Fprintf(s.out, "%s image %s in %s (%s %s, %s old)\n", did, p.ID, p.Region, *line, p.Version, p.Age); werr != nil {
			return errors.Join(err, fmt.Errorf("writing what was pruned: %w", werr))
		}
	}
	if err == nil && len(pruned) == 0 {
		_, _ = fmt.Fprintf(s.err, "no unpublished image of %s is older than %s\n", *line, olderThan) // a note: stdout (empty) is the answer
	}
	if err != nil {
		return err
	}
	return pruneStemcellUploads(ctx, session, store, *line, imageBucket, uploadsOlderThan, dryRun, s)
}

// pruneStemcellUploads aborts the stale uploads of a line: light tarballs in the records' store,
// root.img in the image bucket (which builds use from its root, whatever the source's prefix).
func pruneStemcellUploads(ctx context.Context, session *alicloud.Session, store *alicloud.Store, line, imageBucket string, olderThan time.Duration, dryRun bool, s stdio) error {
	n, err := pruneUploads(ctx, store, []string{line + "/"}, olderThan, dryRun, s.out)
	if err != nil {
		return err
	}
	if imageBucket == "" {
		imageBucket = store.Bucket()
	}
	images, err := session.StoreIn(store.Region(), imageBucket, "")
	if err != nil {
		return err
	}
	m, err := pruneUploads(ctx, images, []string{builder.RootImagePrefix(line), builder.UnnamedRootImagePrefix}, olderThan, dryRun, s.out)
	if err == nil && n+m == 0 {
		_, _ = fmt.Fprintf(s.err, "no unfinished upload of %s is older than %s\n", line, olderThan) // a note: stdout (empty) is the answer
	}
	return err
}

// verifyLine looks up every image the records of a line name and prints the lost ones.
func verifyLine(ctx context.Context, session *alicloud.Session, store *alicloud.Store, stemcell string, s stdio) error {
	line := records.Line{Store: store, Stemcell: stemcell}
	var all []records.Record
	for _, channel := range records.Channels {
		versions, err := line.Versions(ctx, channel)
		if err != nil {
			return err
		}
		for _, v := range versions {
			r, err := line.Read(ctx, channel, v.String())
			if err != nil {
				return err
			}
			r.Channel = channel // where it is recorded is what counts
			all = append(all, r)
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("no records of %s in oss://%s/%s", stemcell, store.Bucket(), store.Key(stemcell+"/"))
	}
	lost, err := records.FindLost(ctx, session, all...)
	if err != nil {
		return err
	}
	for _, l := range lost {
		status := l.Status
		if status == "" {
			status = "gone"
		}
		if _, err := fmt.Fprintf(s.out, "lost %s %s (%s channel) in %s: %s %s\n", stemcell, l.Version, l.Channel, l.Region, l.ID, status); err != nil {
			return fmt.Errorf("writing what was lost: %w", err)
		}
	}
	if len(lost) == 0 {
		images := 0
		for _, r := range all {
			images += len(r.ImageIDs)
		}
		_, _ = fmt.Fprintf(s.err, "every image of the %d records of %s is Available (%d images)\n", len(all), stemcell, images) // a note: stdout (empty) is the answer
	}
	return records.LostError(stemcell, lost)
}

// printCopyTimes prints a line's copy times as a table, slowest first.
func printCopyTimes(ctx context.Context, store *alicloud.Store, line string, out io.Writer) error {
	times, err := builder.LoadCopyTimes(ctx, store, line)
	if err != nil {
		return err
	}
	all := times.All()
	if len(all) == 0 {
		return fmt.Errorf("no copy times for %s in oss://%s/%s: no build of this line has copied an image yet", line, store.Bucket(), store.Key(builder.CopyTimesName(line)))
	}
	slices.SortStableFunc(all, func(a, b builder.CopyTime) int { return cmp.Compare(b.Seconds, a.Seconds) })
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(w, "FROM\tTO\tTIME\tCOPIES\tLAST"); err != nil {
		return err
	}
	for _, c := range all {
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", c.From, c.To, c.Duration().Round(time.Second), c.Copies, c.Updated.Format(time.RFC3339)); err != nil {
			return err
		}
	}
	return w.Flush()
}

// stdoutLog prints the library's lines on stdout and its warnings through the logger.
type stdoutLog struct {
	mu   sync.Mutex
	out  io.Writer
	warn alicloud.Log
}

func (l *stdoutLog) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A progress line: Log has no error to return, and the deletion goes on without it.
	_, _ = fmt.Fprintf(l.out, strings.TrimSuffix(format, "\n")+"\n", args...)
}

func (l *stdoutLog) Warnf(format string, args ...any) { l.warn.Warnf(format, args...) }

// warningsOnly passes a logger's warnings on and drops the rest.
type warningsOnly struct{ log alicloud.Log }

func (warningsOnly) Printf(string, ...any)              {}
func (w warningsOnly) Warnf(format string, args ...any) { w.log.Warnf(format, args...) }
