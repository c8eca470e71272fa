package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

const ensureTerminatedUsage = `usage: cpi-ci cloud ensure-terminated --metadata FILE --tag KEY=VALUE
           --bucket B [--prefix P] [--pool P] [--oss-region R] --env NAME [--allow-no-env]
           [--timeout 10m]

Deletes what a test environment's director left behind, so that terraform destroy does not
fail on DependencyViolation: every instance in the metadata's vpc_id that carries the tag (all
pages), then every data disk with the tag that is unattached or was attached to one of those
instances, and waits (up to --timeout in all) until ECS lists none of them.

  --metadata   the environment task's metadata (JSON): vpc_id (required, never empty) and
               region (default ALICLOUD_REGION)
  --tag        the tag the env's VMs and disks carry, e.g. director=bats-1 (the director's name)
  --bucket, --prefix, --pool, --oss-region, --env
               where the director env lives (as the bosh-director-env resource's source has it)
               and its name. Nothing is deleted unless the env's latest revision is destroyed.
  --allow-no-env
               also go ahead when the env has no revision at all (a test environment no director
               was ever created in); without it that is refused, as a mistyped prefix would look
               the same.

Instances whose tag names another env, or in another VPC, are never touched; neither are
disks attached to them. Each deleted instance and disk is printed on stdout.
`

func runEnsureTerminated(ctx context.Context, args []string, s stdio) error {
	fs := flags("cloud ensure-terminated", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, ensureTerminatedUsage) } // help goes to stderr: nowhere else to report it
	metadata := fs.String("metadata", "", "the environment's metadata file (required)")
	tagFlag := fs.String("tag", "", "KEY=VALUE: the env's tag (required)")
	bucket := fs.String("bucket", "", "the director envs' bucket (required)")
	prefix := fs.String("prefix", "", "the director envs' prefix")
	pool := fs.String("pool", "", "the director envs' pool (a prefix below --prefix)")
	ossRegion := fs.String("oss-region", "", "the bucket's region; default ALICLOUD_REGION")
	envName := fs.String("env", "", "the director env's name (required)")
	allowNoEnv := fs.Bool("allow-no-env", false, "go ahead when the env has no revision at all")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait, in all, for the deletions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), ensureTerminatedUsage)
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--metadata", *metadata}, {"--tag", *tagFlag}, {"--bucket", *bucket}, {"--env", *envName}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s\n\n%s", strings.Join(missing, ", "), ensureTerminatedUsage)
	}
	tagKey, tagValue, ok := strings.Cut(*tagFlag, "=")
	if !ok || tagKey == "" || tagValue == "" {
		return fmt.Errorf("--tag %q: expected KEY=VALUE with both non-empty, e.g. director=%s", *tagFlag, *envName)
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout %s: expected a positive duration", *timeout)
	}
	vpcID, region, err := readEnvironmentMetadata(*metadata)
	if err != nil {
		return err
	}
	if err := director.CheckEnvName(*envName); err != nil {
		return err
	}

	session, objects, log, err := openTaskStore(*bucket, *ossRegion, *prefix+*pool, s)
	if err != nil {
		return err
	}
	if region == "" {
		region = session.Cloud().Region
	}
	where := fmt.Sprintf("oss://%s/%s%s%s/", *bucket, *prefix, *pool, *envName)
	// The env's operation lock, held for the whole sweep: no create can start meanwhile and make
	// VMs this sweep would take for leftovers.
	store := director.Store{Objects: objects}
	lock, err := store.Lock(ctx, *envName, "cpi-ci cloud ensure-terminated", "ensure-terminated", *timeout+time.Minute, log)
	if err != nil {
		return fmt.Errorf("director env %s at %s: refusing to delete anything while another run works on it: %w", *envName, where, err)
	}
	defer func() { _ = lock.Unlock(context.WithoutCancel(ctx)) }() // a lock left behind expires after its ttl
	// A lease given back after the destroy does not make the env less destroyed.
	latest, found, err := store.Condition(ctx, *envName)
	switch {
	case err != nil:
		return fmt.Errorf("reading director env %s at %s: %w", *envName, where, err)
	case !found && !*allowNoEnv:
		return fmt.Errorf("director env %s has no revision that created or destroyed it at %s: refusing to delete anything (check the bucket, prefix and env name; set --allow-no-env for an environment no director was ever created in)", *envName, where)
	case found && !latest.Destroyed():
		return fmt.Errorf("director env %s is not destroyed (revision %d is %s): refusing to delete anything in %s; destroy the env first", *envName, latest.Number, latest.Status, vpcID)
	case found:
		log.Printf("director env %s is destroyed (revision %d)", *envName, latest.Number)
	default:
		log.Printf("director env %s has no revision that created or destroyed it at %s: going ahead (--allow-no-env)", *envName, where)
	}

	deadline := time.Now().Add(*timeout)
	tags := map[string]string{tagKey: tagValue}
	listed, err := session.Instances(ctx, region, alicloud.InstanceQuery{VpcID: vpcID, Tags: tags})
	if err != nil {
		return err
	}
	// The filters are checked again here: an API that ignored one must not widen the deletion.
	var instances []string
	for _, in := range listed {
		if in.VPC.VpcID == vpcID && instanceTag(in, tagKey) == tagValue {
			instances = append(instances, in.ID)
		}
	}
	log.Printf("%d instance(s) in %s tagged %s=%s", len(instances), vpcID, tagKey, tagValue)
	if len(instances) > 0 {
		if err := session.DeleteInstances(ctx, region, instances, time.Until(deadline)); err != nil {
			return err
		}
		for _, id := range instances {
			if err := s.printf("instance %s\n", id); err != nil {
				return err
			}
		}
	}

	listedDisks, err := session.Disks(ctx, region, alicloud.DiskQuery{Tags: tags})
	if err != nil {
		return err
	}
	var disks []string
	for _, d := range listedDisks {
		switch {
		case diskTag(d, tagKey) != tagValue, d.Type == "system":
			// system disks go with their instance
		case d.InstanceID != "" && !slices.Contains(instances, d.InstanceID):
			log.Warnf("disk %s is tagged %s=%s but attached to instance %s, which is not one of this env's in %s: left alone", d.ID, tagKey, tagValue, d.InstanceID, vpcID)
		default:
			disks = append(disks, d.ID)
		}
	}
	log.Printf("%d disk(s) tagged %s=%s to delete", len(disks), tagKey, tagValue)
	if err := session.DeleteDisks(ctx, region, disks, time.Until(deadline)); err != nil {
		return err
	}
	for _, id := range disks {
		if err := s.printf("disk %s\n", id); err != nil {
			return err
		}
	}
	log.Printf("nothing of %s=%s is left in %s", tagKey, tagValue, vpcID)
	return nil
}

// readEnvironmentMetadata reads vpc_id (required) and region from the environment task's
// metadata file.
func readEnvironmentMetadata(path string) (vpcID, region string, err error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("reading the environment's metadata: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", "", fmt.Errorf("the environment's metadata %s is not a JSON object: %w", path, err)
	}
	vpc, _ := doc["vpc_id"].(string)
	if strings.TrimSpace(vpc) == "" {
		return "", "", fmt.Errorf("the environment's metadata %s has no vpc_id (or an empty one): refusing to delete anything, as every VPC would match", path)
	}
	region, _ = doc["region"].(string)
	return vpc, region, nil
}

func instanceTag(in alicloud.Instance, key string) string {
	for _, t := range in.Tags.Tag {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func diskTag(d alicloud.Disk, key string) string {
	for _, t := range d.Tags.Tag {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}
