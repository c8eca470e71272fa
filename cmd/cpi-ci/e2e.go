package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/junit"
)

const e2eUsage = `usage: cpi-ci e2e SUBCOMMAND [flags]

  cloud-config --metadata FILE [--instance-type T] [--spot-instance-type T] [--spot-price-limit P]
      print the e2e cloud-config from the environment's metadata: az z1 in zone; vm_types
      default, slb_registration_pool (slbs: [slb]) and spot_instance_pool (SpotWithPriceLimit);
      disk_types default; a manual network default (vswitch_id, security group, range
      internal_cidr, gateway internal_gw, reserved reserved_range, static static_range, dns
      dns_recursor_ip) and a vip network; compilation on default.
  errands --release DIR
      print the errand jobs of a release directory (jobs whose templates render bin/run), one a
      line, sorted.
  manifest --release DIR --release-version V --metadata FILE --stemcell DIR [--deployment NAME]
      print the deployment manifest: one errand instance group per errand job, on the vm_type
      the job needs, its properties filled from the metadata (ecs_region, load_balancer_id) and
      the errand credentials left as ((errand_access_key_id)), ((errand_access_key_secret)),
      ((errand_security_token)) for a vars file; the stemcell pinned by name and version.
  errand-vars -o FILE
      write the errand credentials from ERRAND_ACCESS_KEY_ID, ERRAND_ACCESS_KEY_SECRET and
      ERRAND_SECURITY_TOKEN as a bosh vars file, 0600. Refuses the provisioning key
      (ALICLOUD_ACCESS_KEY_ID) and a missing key or secret.
  junit --logs DIR -o FILE STEP=CODE...
      a JUnit report of the task's steps (deploy, each errand, delete-deployment): each a case,
      failed when CODE is not 0, with DIR/STEP.log as its output.
`

var e2eSubcommands = map[string]subcommand{
	"cloud-config": runE2ECloudConfig,
	"errands":      runE2EErrands,
	"manifest":     runE2EManifest,
	"errand-vars":  runE2EErrandVars,
	"junit":        runE2EJUnit,
}

func runE2E(ctx context.Context, args []string, s stdio) error {
	return dispatch(ctx, args, s, e2eUsage, e2eSubcommands)
}

// The names the cloud-config gives and the manifest uses.
const (
	e2eAZ        = "z1"
	e2eNetwork   = "default"
	e2eVMDefault = "default"
	e2eVMSLB     = "slb_registration_pool"
	e2eVMSpot    = "spot_instance_pool"
)

// e2eVMTypes says which vm_type an errand needs: what it checks the CPI did to its own VM.
var e2eVMTypes = map[string]string{"slb-registration-test": e2eVMSLB, "spot-instance-test": e2eVMSpot}

// yamlMap is a YAML mapping that keeps its keys in the order they were added.
type yamlMap []yamlPair

type yamlPair struct {
	key   string
	value any
}

func (m yamlMap) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range m {
		var v yaml.Node
		if err := v.Encode(p.value); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p.key}, &v)
	}
	return n, nil
}

func printYAML(s stdio, doc any) error {
	body, err := marshalYAML(doc)
	if err != nil {
		return err
	}
	return s.printf("%s", body)
}

// marshalYAML is a YAML document as bosh users write them: a document marker, two-space indents.
func marshalYAML(doc any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("---\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func runE2ECloudConfig(_ context.Context, args []string, s stdio) error {
	fs := flags("e2e cloud-config", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, e2eUsage) } // help goes to stderr: nowhere else to report it
	metadata := fs.String("metadata", "", "the environment's metadata (required)")
	instanceType := fs.String("instance-type", "ecs.g6.large", "the instance type of vm_types default and slb_registration_pool")
	spotType := fs.String("spot-instance-type", "ecs.sn1ne.large", "the instance type of vm_type spot_instance_pool")
	spotLimit := fs.String("spot-price-limit", "0.10", "spot_price_limit of vm_type spot_instance_pool (per hour)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *metadata == "" || fs.NArg() > 0 {
		return fmt.Errorf("want --metadata FILE and no arguments\n\n%s", e2eUsage)
	}
	limit, err := strconv.ParseFloat(*spotLimit, 64)
	if err != nil || limit <= 0 {
		return fmt.Errorf("--spot-price-limit: want a positive number, got %q", *spotLimit)
	}
	meta, err := readEnvMetadata(*metadata)
	if err != nil {
		return err
	}
	if err := meta.need(*metadata, "zone", "vswitch_id", "security_group_id", "internal_cidr", "internal_gw",
		"reserved_range", "static_range", "dns_recursor_ip", "slb"); err != nil {
		return err
	}
	vm := func(extra ...yamlPair) yamlMap {
		return append(yamlMap{{"instance_type", *instanceType}, {"availability_zone", meta["zone"]}}, extra...)
	}
	cc := yamlMap{
		{"azs", []any{yamlMap{{"name", e2eAZ}, {"cloud_properties", yamlMap{{"availability_zone", meta["zone"]}}}}}},
		{"vm_types", []any{
			yamlMap{{"name", e2eVMDefault}, {"cloud_properties", vm()}},
			yamlMap{{"name", e2eVMSLB}, {"cloud_properties", vm(yamlPair{"slbs", []string{meta["slb"]}})}},
			yamlMap{{"name", e2eVMSpot}, {"cloud_properties", yamlMap{{"instance_type", *spotType}, {"availability_zone", meta["zone"]},
				{"spot_strategy", "SpotWithPriceLimit"}, {"spot_price_limit", limit}}}},
		}},
		{"disk_types", []any{yamlMap{{"name", "default"}, {"disk_size", 20480}, {"cloud_properties", yamlMap{{"category", "cloud_efficiency"}}}}}},
		{"networks", []any{
			yamlMap{{"name", e2eNetwork}, {"type", "manual"}, {"subnets", []any{yamlMap{
				{"range", meta["internal_cidr"]}, {"gateway", meta["internal_gw"]}, {"azs", []string{e2eAZ}},
				{"reserved", []string{meta["reserved_range"]}}, {"static", []string{meta["static_range"]}},
				{"dns", []string{meta["dns_recursor_ip"]}},
				{"cloud_properties", yamlMap{{"vswitch_id", meta["vswitch_id"]}, {"security_group_ids", []string{meta["security_group_id"]}}}},
			}}}},
			yamlMap{{"name", "vip"}, {"type", "vip"}},
		}},
		{"compilation", yamlMap{{"workers", 1}, {"reuse_compilation_vms", true}, {"az", e2eAZ}, {"vm_type", e2eVMDefault}, {"network", e2eNetwork}}},
	}
	return printYAML(s, cc)
}

// releaseJob is a job's spec as far as the manifest needs it.
type releaseJob struct {
	Name       string                    `yaml:"name"`
	Templates  map[string]string         `yaml:"templates"`
	Properties map[string]map[string]any `yaml:"properties"`
}

func (j releaseJob) errand() bool {
	for _, dest := range j.Templates {
		if dest == "bin/run" {
			return true
		}
	}
	return false
}

// releaseErrands reads the errand jobs of a release directory, sorted by name.
func releaseErrands(dir string) ([]releaseJob, error) {
	specs, err := filepath.Glob(filepath.Join(dir, "jobs", "*", "spec"))
	if err != nil {
		return nil, err
	}
	sort.Strings(specs)
	var errands []releaseJob
	for _, path := range specs {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var job releaseJob
		if err := yaml.Unmarshal(data, &job); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if job.Name == "" {
			job.Name = filepath.Base(filepath.Dir(path))
		}
		if job.errand() {
			errands = append(errands, job)
		}
	}
	if len(errands) == 0 {
		return nil, fmt.Errorf("the release %s has no errand job (a job whose templates render bin/run)", dir)
	}
	return errands, nil
}

func runE2EErrands(_ context.Context, args []string, s stdio) error {
	fs := flags("e2e errands", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, e2eUsage) } // help goes to stderr: nowhere else to report it
	dir := fs.String("release", "", "the release directory (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return fmt.Errorf("want --release DIR and no arguments\n\n%s", e2eUsage)
	}
	errands, err := releaseErrands(*dir)
	if err != nil {
		return err
	}
	for _, j := range errands {
		if err := s.printf("%s\n", j.Name); err != nil {
			return err
		}
	}
	return nil
}

// releaseName is config/final.yml's name (or final_name).
func releaseName(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config", "final.yml"))
	if err != nil {
		return "", fmt.Errorf("the release's config/final.yml: %w", err)
	}
	var final struct {
		Name      string `yaml:"name"`
		FinalName string `yaml:"final_name"`
	}
	if err := yaml.Unmarshal(data, &final); err != nil {
		return "", fmt.Errorf("the release's config/final.yml: %w", err)
	}
	if final.Name != "" {
		return final.Name, nil
	}
	if final.FinalName != "" {
		return final.FinalName, nil
	}
	return "", errors.New("the release's config/final.yml has no name")
}

func runE2EManifest(_ context.Context, args []string, s stdio) error {
	fs := flags("e2e manifest", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, e2eUsage) } // help goes to stderr: nowhere else to report it
	dir := fs.String("release", "", "the release directory (required)")
	version := fs.String("release-version", "", "the version the release was created with (required)")
	metadata := fs.String("metadata", "", "the environment's metadata (required)")
	stemcellPath := fs.String("stemcell", "", "the stemcell input directory (required)")
	deployment := fs.String("deployment", "e2e-test", "the deployment's name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--release", *dir}, {"--release-version", *version}, {"--metadata", *metadata}, {"--stemcell", *stemcellPath}, {"--deployment", *deployment}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 || fs.NArg() > 0 {
		return fmt.Errorf("missing %s or unexpected arguments %q\n\n%s", strings.Join(missing, ", "), fs.Args(), e2eUsage)
	}
	name, err := releaseName(*dir)
	if err != nil {
		return err
	}
	errands, err := releaseErrands(*dir)
	if err != nil {
		return err
	}
	meta, err := readEnvMetadata(*metadata)
	if err != nil {
		return err
	}
	if err := meta.need(*metadata, "region", "slb"); err != nil {
		return err
	}
	sc, err := readStemcellDir(*stemcellPath)
	if err != nil {
		return err
	}
	// What the pack knows how to fill; the credentials stay variables for the vars file.
	known := map[string]string{
		"ecs_region": meta["region"], "load_balancer_id": meta["slb"],
		"access_key": "((errand_access_key_id))", "secret_key": "((errand_access_key_secret))", "security_token": "((errand_security_token))",
	}
	var groups []any
	var problems []string
	for _, j := range errands {
		props := yamlMap{}
		keys := make([]string, 0, len(j.Properties))
		for k := range j.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v, ok := known[k]; ok {
				props = append(props, yamlPair{k, v})
			} else if _, hasDefault := j.Properties[k]["default"]; !hasDefault {
				problems = append(problems, fmt.Sprintf("job %s: property %s has no default and the e2e manifest has no value for it", j.Name, k))
			}
		}
		vmType := e2eVMTypes[j.Name]
		if vmType == "" {
			vmType = e2eVMDefault
		}
		job := yamlMap{{"name", j.Name}, {"release", name}}
		if len(props) > 0 {
			job = append(job, yamlPair{"properties", props})
		}
		groups = append(groups, yamlMap{
			{"name", j.Name}, {"lifecycle", "errand"}, {"instances", 1}, {"azs", []string{e2eAZ}},
			{"jobs", []any{job}}, {"vm_type", vmType}, {"stemcell", "default"},
			{"networks", []any{yamlMap{{"name", e2eNetwork}, {"default", []string{"dns", "gateway"}}}}},
		})
	}
	if len(problems) > 0 {
		return fmt.Errorf("the release %s: %s", *dir, strings.Join(problems, "; "))
	}
	manifest := yamlMap{
		{"name", *deployment},
		{"releases", []any{yamlMap{{"name", name}, {"version", *version}}}},
		{"stemcells", []any{yamlMap{{"alias", "default"}, {"name", sc.Manifest.Name()}, {"version", sc.Manifest.Version()}}}},
		{"update", yamlMap{{"canaries", 1}, {"max_in_flight", 3}, {"canary_watch_time", "30000-240000"}, {"update_watch_time", "30000-600000"}}},
		{"instance_groups", groups},
	}
	return printYAML(s, manifest)
}

// The errand credentials' params.
const (
	envErrandKeyID  = "ERRAND_ACCESS_KEY_ID"
	envErrandSecret = "ERRAND_ACCESS_KEY_SECRET"
	envErrandToken  = "ERRAND_SECURITY_TOKEN"
)

func runE2EErrandVars(_ context.Context, args []string, s stdio) error {
	fs := flags("e2e errand-vars", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, e2eUsage) } // help goes to stderr: nowhere else to report it
	out := fs.String("o", "", "the vars file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("want -o FILE and no arguments\n\n%s", e2eUsage)
	}
	id, secret, token := os.Getenv(envErrandKeyID), os.Getenv(envErrandSecret), os.Getenv(envErrandToken)
	var missing []string
	if id == "" {
		missing = append(missing, envErrandKeyID)
	}
	if secret == "" {
		missing = append(missing, envErrandSecret)
	}
	if len(missing) > 0 {
		return fmt.Errorf("the errands' read-only credentials are missing: set %s (a key that can only describe ECS and SLB, never the provisioning one)", strings.Join(missing, " and "))
	}
	if provisioning := os.Getenv(envAccessKeyID); provisioning != "" && provisioning == id {
		return fmt.Errorf("%s is the provisioning key (%s): the errands get a read-only key of their own", envErrandKeyID, envAccessKeyID)
	}
	body, err := yaml.Marshal(map[string]string{"errand_access_key_id": id, "errand_access_key_secret": secret, "errand_security_token": token})
	if err != nil {
		return err
	}
	if err := writePrivate(*out, body); err != nil {
		return fmt.Errorf("writing the errand vars file: %w", err)
	}
	return nil
}

func runE2EJUnit(_ context.Context, args []string, s stdio) error {
	fs := flags("e2e junit", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, e2eUsage) } // help goes to stderr: nowhere else to report it
	logs := fs.String("logs", "", "the directory of the steps' logs, STEP.log (required)")
	out := fs.String("o", "", "the JUnit report to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *logs == "" || *out == "" || fs.NArg() == 0 {
		return fmt.Errorf("want --logs DIR -o FILE STEP=CODE...\n\n%s", e2eUsage)
	}
	var cases []junit.Case
	for _, arg := range fs.Args() {
		name, code, ok := strings.Cut(arg, "=")
		n, err := strconv.Atoi(code)
		if !ok || name == "" || err != nil || strings.ContainsAny(name, "/\\") {
			return fmt.Errorf("%q: want STEP=EXIT_CODE", arg)
		}
		output, err := os.ReadFile(filepath.Join(*logs, name+".log"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if n != 0 {
			output = append(output, fmt.Sprintf("\nexit %d\n", n)...)
		}
		cases = append(cases, junit.Case{Name: name, Failed: n != 0, Output: string(output)})
	}
	rep := junit.FromCases("e2e", cases)
	if err := writeAtomically(*out, func(w io.Writer) error { return rep.WriteXML(w) }); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	_, _ = fmt.Fprintf(s.err, "junit: %s in %s\n", rep.Summary(), *out) // a note beside the report
	return nil
}
