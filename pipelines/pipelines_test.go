package pipelines_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/concourse/concourse/atc"
	"github.com/concourse/concourse/atc/configvalidate"
	"github.com/concourse/concourse/vars"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
	"gopkg.in/yaml.v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/localexec"
)

func TestPipelines(t *testing.T) {
	suite := spec.New("pipelines", spec.Report(report.Terminal{}))
	suite("Concourse's config loader", testConfigLoader)
	suite("fly validate-pipeline --strict", testFlyValidate)
	suite("task steps against their task.yml", testTaskSteps)
	suite("credentials", testCredentials)
	suite("vars files", testVarsFiles)
	suite.Run(t)
}

var (
	pipelineFiles = []string{"cpi.yml", "light-stemcells.yml", "mirror.yml"}
	exampleVars   = []string{"vars/ram-role.example.yml", "vars/assume-role.example.yml", "vars/sts.example.yml", "vars/static-keys.example.yml"}
	// Every vars file a pipeline is set with: one per credential style, and the demo's.
	allVars = append(slices.Clone(exampleVars), "vars/demo.yml")
	// Secrets the example files leave to the credential manager (the demo file gives them).
	credentialManagerVars = []string{"cpi_private_yml", "errand_access_key_id", "errand_access_key_secret", "errand_security_token"}
	// The pack's resource types, whose source is the shared cloud block.
	packTypes = []string{"alicloud-light-stemcell", "bosh-release", "bosh-director-env"}
	varRef    = regexp.MustCompile(`\(\(([a-zA-Z0-9_.\-/]+)\)\)`)
)

// interpolate resolves a pipeline's ((vars)) from vars files as `fly set-pipeline -l` does (later
// files win) and returns it with the names it left unresolved, for the credential manager.
func interpolate(pipeline []byte, files ...string) ([]byte, []string, error) {
	// fly refuses duplicate keys before it interpolates.
	if err := yaml.Unmarshal(pipeline, &map[string]any{}); err != nil {
		return nil, nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var params []vars.Variables
	for i := len(files) - 1; i >= 0; i-- {
		data, err := os.ReadFile(files[i])
		if err != nil {
			return nil, nil, err
		}
		var static vars.StaticVariables
		if err := sigsyaml.Unmarshal(data, &static); err != nil {
			return nil, nil, fmt.Errorf("vars file %s: %w", files[i], err)
		}
		params = append(params, static)
	}
	resolved, err := vars.NewTemplateResolver(pipeline, params).Resolve(false, false)
	if err != nil {
		return nil, nil, err
	}
	var left []string
	for _, m := range varRef.FindAllStringSubmatch(string(resolved), -1) {
		if !slices.Contains(left, m[1]) {
			left = append(left, m[1])
		}
	}
	sort.Strings(left)
	return resolved, left, nil
}

// load reads, interpolates and parses a pipeline with Concourse's own loader, and validates it
// with configvalidate as the web node does on set-pipeline.
func load(path string, files ...string) (atc.Config, []byte, []string, []atc.ConfigWarning, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return atc.Config{}, nil, nil, nil, nil, err
	}
	resolved, left, err := interpolate(raw, files...)
	if err != nil {
		return atc.Config{}, nil, nil, nil, nil, err
	}
	var cfg atc.Config
	if err := atc.UnmarshalConfig(resolved, &cfg); err != nil {
		return atc.Config{}, nil, nil, nil, nil, err
	}
	warnings, errs := configvalidate.Validate(cfg)
	return cfg, resolved, left, warnings, errs, nil
}

func testConfigLoader(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("loads every pipeline with every vars file: no error, no warning, only the credential manager's vars left", func() {
		for _, p := range pipelineFiles {
			for _, v := range allVars {
				cfg, _, left, warnings, errs, err := load(p, v)
				Expect(err).NotTo(HaveOccurred(), p+" with "+v)
				Expect(errs).To(BeEmpty(), p+" with "+v)
				Expect(warnings).To(BeEmpty(), p+" with "+v)
				Expect(cfg.Jobs).NotTo(BeEmpty(), p)
				if v == "vars/demo.yml" {
					Expect(left).To(BeEmpty(), p+" with the demo's vars")
				} else {
					Expect(credentialManagerVars).To(ContainElements(left), p+" with "+v+": a var no vars file gives")
				}
			}
		}
	})

	it("has the jobs, groups and triggers the docs and the demo rely on", func() {
		jobs := func(p string) (names, manual []string) {
			cfg, _, _, _, _, err := load(p, "vars/demo.yml")
			Expect(err).NotTo(HaveOccurred())
			for _, j := range cfg.Jobs {
				names = append(names, j.Name)
				if !triggered(j) {
					manual = append(manual, j.Name)
				}
			}
			return names, manual
		}
		names, manual := jobs("cpi.yml")
		Expect(names).To(Equal([]string{"unit-tests", "build-candidate", "integration", "bats", "end-to-end", "promote-candidate", "cleanup"}))
		Expect(manual).To(Equal([]string{"promote-candidate"}))
		names, manual = jobs("light-stemcells.yml")
		Expect(names).To(Equal([]string{"build-candidate-ubuntu-jammy", "test-ubuntu-jammy", "promote-ubuntu-jammy",
			"build-candidate-ubuntu-noble", "test-ubuntu-noble", "promote-ubuntu-noble"}))
		Expect(manual).To(Equal([]string{"promote-ubuntu-jammy", "promote-ubuntu-noble"}))
		names, manual = jobs("mirror.yml")
		Expect(names).To(Equal([]string{"mirror-bosh", "mirror-bpm", "mirror-bosh-alicloud-cpi"}))
		Expect(manual).To(BeEmpty())

		cfg, _, _, _, _, err := load("cpi.yml", "vars/demo.yml")
		Expect(err).NotTo(HaveOccurred())
		var groups []string
		for _, g := range cfg.Groups {
			groups = append(groups, g.Name)
		}
		Expect(groups).To(Equal([]string{"build", "test", "promote", "cleanup"}))
		cleanup, _ := cfg.Jobs.Lookup("cleanup")
		Expect(triggered(cleanup)).To(BeTrue(), "the cleanup job runs on its schedule")
		r, _ := cfg.Resources.Lookup("cleanup-schedule")
		Expect(r.Type).To(Equal("time"))
	})

	it("refuses a pipeline Concourse refuses (the loader is not a rubber stamp)", func() {
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.yml")
		Expect(os.WriteFile(bad, []byte("jobs:\n- name: j\n  serial_group: [x]\n  plan:\n  - get: nowhere\n"), 0o644)).To(Succeed())
		_, _, _, _, _, err := load(bad)
		Expect(err).To(MatchError(ContainSubstring(`unknown field "serial_group"`)))
		Expect(os.WriteFile(bad, []byte("jobs:\n- name: j\n  plan:\n  - get: nowhere\n"), 0o644)).To(Succeed())
		_, _, _, _, errs, err := load(bad)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Join(errs, "\n")).To(ContainSubstring("unknown resource 'nowhere'"))
	})
}

// triggered: a job with a get step that triggers it.
func triggered(j atc.JobConfig) bool {
	found := false
	_ = j.StepConfig().Visit(atc.StepRecursor{
		OnGet: func(s *atc.GetStep) error {
			found = found || s.Trigger
			return nil
		},
	})
	return found
}

func testFlyValidate(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("passes for every pipeline with every vars file (the real bin/fly)", func() {
		root, err := testtools.ModuleRoot()
		Expect(err).NotTo(HaveOccurred())
		fly := filepath.Join(root, "bin", "fly")
		if _, err := os.Stat(fly); err != nil {
			t.Fatalf("%s is missing: run `make tools` first (%v)", fly, err)
		}
		for _, p := range pipelineFiles {
			for _, v := range allVars {
				out, err := exec.Command(fly, "validate-pipeline", "--strict", "-c", p, "-l", v).CombinedOutput()
				Expect(err).NotTo(HaveOccurred(), "fly validate-pipeline --strict -c %s -l %s:\n%s", p, v, out)
				Expect(string(out)).To(ContainSubstring("looks good"), p+" with "+v)
			}
		}
		// and fly refuses what it should: a top-level key of one's own for anchors
		bad := filepath.Join(t.TempDir(), "bad.yml")
		Expect(os.WriteFile(bad, []byte("shared: &x {}\njobs:\n- name: j\n  plan:\n  - task: t\n    config: {platform: linux, run: {path: 'true'}}\n"), 0o644)).To(Succeed())
		out, err := exec.Command(fly, "validate-pipeline", "--strict", "-c", bad).CombinedOutput()
		Expect(err).To(HaveOccurred(), string(out))
	})
}

// plan is a pipeline as Concourse sees it after interpolation: plain maps, anchors expanded.
type plan = map[string]any

func resolvedDoc(t *testing.T, path string, files ...string) plan {
	t.Helper()
	_, resolved, _, _, _, err := load(path, files...)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	var doc plan
	if err := yaml.Unmarshal(resolved, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// stepChecker walks a job's plan in order, keeping the artifacts each step can see, and checks
// every task step against its task.yml and every put's paths against the artifacts.
type stepChecker struct {
	root     string // the repository: concourse-pack/tasks/X/task.yml is root/tasks/X/task.yml
	job      string
	problems []string
}

func (c *stepChecker) fail(step, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("job %s, step %s: %s", c.job, step, fmt.Sprintf(format, args...)))
}

func with(have map[string]bool, names ...string) map[string]bool {
	out := make(map[string]bool, len(have)+len(names))
	for k := range have {
		out[k] = true
	}
	for _, n := range names {
		out[n] = true
	}
	return out
}

func steps(v any) []plan {
	var out []plan
	switch l := v.(type) {
	case []any:
		for _, s := range l {
			if m, ok := s.(plan); ok {
				out = append(out, m)
			}
		}
	case plan: // in_parallel: {steps: [...]}
		return steps(l["steps"])
	}
	return out
}

// step checks one step seeing the artifacts in have, and returns what the steps after it see.
func (c *stepChecker) step(s plan, have map[string]bool) map[string]bool {
	after := have
	switch {
	case s["get"] != nil:
		after = with(have, fmt.Sprint(s["get"]))
	case s["put"] != nil:
		name := fmt.Sprint(s["put"])
		c.putPaths(name, s, have)
		if s["no_get"] != true {
			after = with(have, name)
		}
	case s["task"] != nil:
		after = with(have, c.task(s, have)...)
	case s["do"] != nil:
		for _, sub := range steps(s["do"]) {
			after = c.step(sub, after)
		}
	case s["in_parallel"] != nil:
		// siblings run at once: none sees another's artifacts
		for _, sub := range steps(s["in_parallel"]) {
			after = with(after, keys(c.step(sub, have))...)
		}
	case s["try"] != nil:
		if m, ok := s["try"].(plan); ok {
			after = c.step(m, have)
		}
	default:
		c.fail(fmt.Sprint(s), "a step of a kind this check does not know")
	}
	for _, hook := range []string{"on_success", "on_failure", "on_error", "on_abort", "ensure"} {
		if m, ok := s[hook].(plan); ok {
			after = with(after, keys(c.step(m, after))...)
		}
	}
	return after
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// pathParams are put params that name a file or directory of the build: its first element must
// be an artifact.
var pathParams = []string{"file", "release_dir", "version_file", "heavy_stemcell", "promote", "manifest", "metadata_file", "lease", "dir", "repository", "tag", "vars_files", "ops_files"}

func (c *stepChecker) putPaths(name string, s plan, have map[string]bool) {
	params, _ := s["params"].(plan)
	for _, k := range pathParams {
		var paths []string
		switch v := params[k].(type) {
		case string:
			paths = []string{v}
		case []any:
			for _, p := range v {
				paths = append(paths, fmt.Sprint(p))
			}
		}
		for _, p := range paths {
			if first, _, _ := strings.Cut(p, "/"); !have[first] {
				c.fail("put "+name, "params.%s %q: no earlier get, put or task output gives %q", k, p, first)
			}
		}
	}
}

// task checks a task step's inputs, mappings and params against its config, and returns the
// artifacts its outputs become.
func (c *stepChecker) task(s plan, have map[string]bool) []string {
	name := fmt.Sprint(s["task"])
	var cfg atc.TaskConfig
	var where string
	switch {
	case s["file"] != nil:
		file := fmt.Sprint(s["file"])
		rel, ok := strings.CutPrefix(file, "concourse-pack/")
		if !ok || !strings.HasPrefix(rel, "tasks/") {
			c.fail(name, "file %s is not one of the pack's tasks (concourse-pack/tasks/<task>/task.yml)", file)
			return nil
		}
		if !have["concourse-pack"] {
			c.fail(name, "file %s: no earlier get gives concourse-pack", file)
		}
		where = rel
		data, err := os.ReadFile(filepath.Join(c.root, rel))
		if err != nil {
			c.fail(name, "file %s: %v", file, err)
			return nil
		}
		// The step's vars are all the task file gets: Concourse does not hand it the pipeline's.
		var pairs []string
		stepVars, _ := s["vars"].(plan)
		for k, v := range stepVars {
			j, err := json.Marshal(v)
			if err != nil {
				c.fail(name, "vars.%s: %v", k, err)
			}
			pairs = append(pairs, k+"="+string(j))
		}
		cfg, err = localexec.ParseConfig(data, localexec.Vars{YAMLPairs: pairs})
		if err != nil {
			c.fail(name, "%s with the step's vars: %v", file, err)
			return nil
		}
	case s["config"] != nil:
		where = "its inline config"
		data, err := yaml.Marshal(s["config"])
		if err == nil {
			cfg, err = localexec.ParseConfig(data, localexec.Vars{})
		}
		if err != nil {
			c.fail(name, "inline config: %v", err)
			return nil
		}
	default:
		c.fail(name, "neither file nor config")
		return nil
	}

	inputMapping, _ := s["input_mapping"].(plan)
	outputMapping, _ := s["output_mapping"].(plan)
	declared := map[string]bool{}
	for _, in := range cfg.Inputs {
		declared[in.Name] = true
		artifact := in.Name
		if m, ok := inputMapping[in.Name]; ok {
			artifact = fmt.Sprint(m)
		}
		if !in.Optional && !have[artifact] {
			if artifact == in.Name {
				c.fail(name, "input %s is not provided: no earlier get, put or task output is named %s", in.Name, artifact)
			} else {
				c.fail(name, "input %s is not provided: input_mapping names %s, which no earlier get, put or task output gives", in.Name, artifact)
			}
		}
	}
	for k := range inputMapping {
		if !declared[k] {
			c.fail(name, "input_mapping.%s: %s declares no such input", k, where)
		}
	}
	var outputs []string
	outs := map[string]bool{}
	for _, out := range cfg.Outputs {
		outs[out.Name] = true
		artifact := out.Name
		if m, ok := outputMapping[out.Name]; ok {
			artifact = fmt.Sprint(m)
		}
		outputs = append(outputs, artifact)
	}
	for k := range outputMapping {
		if !outs[k] {
			c.fail(name, "output_mapping.%s: %s declares no such output", k, where)
		}
	}
	params, _ := s["params"].(plan)
	for k := range params {
		if _, ok := cfg.Params[k]; !ok {
			c.fail(name, "param %s is not declared in %s", k, where)
		}
	}
	return outputs
}

// checkTaskSteps checks every job of a resolved pipeline.
func checkTaskSteps(root string, doc plan) []string {
	c := &stepChecker{root: root}
	for _, j := range steps(doc["jobs"]) {
		c.job = fmt.Sprint(j["name"])
		have := map[string]bool{}
		for _, s := range steps(j["plan"]) {
			have = c.step(s, have)
		}
		for _, hook := range []string{"on_success", "on_failure", "on_error", "on_abort", "ensure"} {
			if m, ok := j[hook].(plan); ok {
				c.step(m, have)
			}
		}
	}
	sort.Strings(c.problems)
	return c.problems
}

func testTaskSteps(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	var root string

	it.Before(func() {
		var err error
		root, err = testtools.ModuleRoot()
		Expect(err).NotTo(HaveOccurred())
	})

	it("finds every task step's inputs provided, its mappings and params declared, its file's vars given, and every put's paths there", func() {
		tasks := 0
		for _, p := range pipelineFiles {
			for _, v := range allVars {
				doc := resolvedDoc(t, p, v)
				Expect(checkTaskSteps(root, doc)).To(BeEmpty(), p+" with "+v)
				for _, j := range steps(doc["jobs"]) {
					b, _ := json.Marshal(j)
					tasks += strings.Count(string(b), `"task":`)
				}
			}
		}
		Expect(tasks).To(BeNumerically(">", 20))
	})

	context("on a broken pipeline", func() {
		check := func(pipeline string) []string {
			dir := t.TempDir()
			p := filepath.Join(dir, "p.yml")
			Expect(os.WriteFile(p, []byte(pipeline), 0o644)).To(Succeed())
			doc := resolvedDoc(t, p, "vars/ram-role.example.yml")
			return checkTaskSteps(root, doc)
		}
		const head = `resources:
- name: concourse-pack
  type: git
  source: {uri: x}
- name: bosh-cpi-src
  type: git
  source: {uri: x}
jobs:
`
		it("names the job, the step and the input that nothing provides", func() {
			problems := check(head + `- name: unit
  plan:
  - get: concourse-pack
  - task: unit-tests
    file: concourse-pack/tasks/unit-tests/task.yml
    vars: {task_image: ((task_image))}
`)
			Expect(problems).To(Equal([]string{"job unit, step unit-tests: input bosh-cpi-src is not provided: no earlier get, put or task output is named bosh-cpi-src"}))
		})

		it("names an input_mapping to nothing, a param the task does not declare, a var the step does not give, and an output used before it exists", func() {
			problems := check(head + `- name: promote
  plan:
  - in_parallel:
    - get: concourse-pack
    - get: bosh-cpi-src
    - task: too-early # in_parallel: it cannot see its sibling's output
      file: concourse-pack/tasks/unit-tests/task.yml
      vars: {task_image: ((task_image))}
      input_mapping: {bosh-cpi-src: candidate}
  - task: promote
    file: concourse-pack/tasks/promote/task.yml
    input_mapping: {candidate: cpi-candidate}
    params: {PRIVATE_YAML: ""}
  - put: bosh-cpi-src
    params: {repository: promoted/repo}
`)
			Expect(problems).To(ConsistOf(
				"job promote, step too-early: file concourse-pack/tasks/unit-tests/task.yml: no earlier get gives concourse-pack",
				"job promote, step too-early: input concourse-pack is not provided: no earlier get, put or task output is named concourse-pack",
				"job promote, step too-early: input bosh-cpi-src is not provided: input_mapping names candidate, which no earlier get, put or task output gives",
				"job promote, step promote: concourse-pack/tasks/promote/task.yml with the step's vars: interpolating: undefined vars: task_image.insecure, task_image.repository, task_image.tag",
				"job promote, step put bosh-cpi-src: params.repository \"promoted/repo\": no earlier get, put or task output gives \"promoted\"",
			))
			problems = check(head + `- name: promote
  plan:
  - get: concourse-pack
  - get: bosh-cpi-src
  - task: promote
    file: concourse-pack/tasks/promote/task.yml
    vars: {task_image: ((task_image))}
    input_mapping: {candidate: cpi-candidate, nothing: bosh-cpi-src}
    output_mapping: {promotd: final}
    params: {PRIVATE_YAML: ""}
`)
			Expect(problems).To(ConsistOf(
				"job promote, step promote: input candidate is not provided: input_mapping names cpi-candidate, which no earlier get, put or task output gives",
				"job promote, step promote: input release-version is not provided: no earlier get, put or task output is named release-version",
				"job promote, step promote: input_mapping.nothing: tasks/promote/task.yml declares no such input",
				"job promote, step promote: output_mapping.promotd: tasks/promote/task.yml declares no such output",
				"job promote, step promote: param PRIVATE_YAML is not declared in tasks/promote/task.yml",
			))
		})

		it("takes the outputs of a step inside do for the ensure hook, and an optional input as optional", func() {
			problems := check(head + `- name: env
  plan:
  - get: concourse-pack
  - do:
    - task: environment
      file: concourse-pack/tasks/environment/task.yml
      vars: {task_image: ((task_image))}
    ensure:
      task: ensure-terminated
      file: concourse-pack/tasks/ensure-terminated/task.yml
      vars: {task_image: ((task_image))}
`)
			Expect(problems).To(BeEmpty())
		})
	})
}

// walk calls f for every key and value of a decoded YAML document.
func walk(v any, f func(key string, value any)) {
	switch x := v.(type) {
	case plan:
		for k, val := range x {
			f(k, val)
			walk(val, f)
		}
	case []any:
		for _, val := range x {
			f("", val)
			walk(val, f)
		}
	}
}

var credentialKeys = []string{"access_key_id", "access_key_secret", "security_token",
	"ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECURITY_TOKEN"}

// keysSet lists every credential key of a rendered pipeline that holds a value.
func keysSet(doc plan) []string {
	var set []string
	walk(doc, func(k string, v any) {
		if slices.Contains(credentialKeys, k) && v != "" && v != nil {
			set = append(set, fmt.Sprintf("%s=%v", k, v))
		}
	})
	return set
}

func testCredentials(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("the RAM-role vars file sets no access key, and the pipelines rendered with it alone hold none", func() {
		var ramRole map[string]any
		data, err := os.ReadFile("vars/ram-role.example.yml")
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.Unmarshal(data, &ramRole)).To(Succeed())
		for _, k := range []string{"alicloud_access_key_id", "alicloud_access_key_secret", "alicloud_security_token"} {
			Expect(ramRole).To(HaveKeyWithValue(k, ""))
		}
		Expect(ramRole).To(HaveKeyWithValue("alicloud_ram_role", "ConcourseWorker"))
		for k, v := range ramRole {
			if strings.Contains(k, "key") || strings.Contains(k, "secret") || strings.Contains(k, "token") {
				Expect(v).To(BeEmpty(), k)
			}
		}

		for _, p := range pipelineFiles {
			for _, v := range []string{"vars/ram-role.example.yml", "vars/assume-role.example.yml"} {
				doc := resolvedDoc(t, p, v)
				Expect(keysSet(doc)).To(BeEmpty(), p+" with "+v)
				// the errands' read-only key is the credential manager's, never the file's
				walk(doc, func(k string, val any) {
					if strings.HasPrefix(k, "ERRAND_") {
						Expect(val).To(Equal("((" + strings.ToLower(k) + "))"))
					}
				})
			}
			// the scan finds keys where there are some
			Expect(keysSet(resolvedDoc(t, p, "vars/static-keys.example.yml"))).NotTo(BeEmpty(), p)
		}
	})

	it("gives every pack resource and every cloud task the whole cloud block from the cloud vars, uses no semver and no aliyun CLI", func() {
		cloudSource := map[string]string{
			"region": "((alicloud_region))", "bucket": "((alicloud_bucket))", "ram_role": "((alicloud_ram_role))",
			"assume_role_arn": "((alicloud_assume_role_arn))", "access_key_id": "((alicloud_access_key_id))",
			"access_key_secret": "((alicloud_access_key_secret))", "security_token": "((alicloud_security_token))",
			"ecs_endpoint": "((alicloud_endpoint))", "oss_endpoint": "((alicloud_endpoint))", "sts_endpoint": "((alicloud_endpoint))",
		}
		cloudParams := map[string]string{
			"ALICLOUD_REGION": "((alicloud_region))", "ALICLOUD_RAM_ROLE": "((alicloud_ram_role))",
			"ALICLOUD_ASSUME_ROLE_ARN": "((alicloud_assume_role_arn))", "ALICLOUD_ACCESS_KEY_ID": "((alicloud_access_key_id))",
			"ALICLOUD_ACCESS_KEY_SECRET": "((alicloud_access_key_secret))", "ALICLOUD_SECURITY_TOKEN": "((alicloud_security_token))",
			"ALICLOUD_ECS_ENDPOINT": "((alicloud_endpoint))", "ALICLOUD_OSS_ENDPOINT": "((alicloud_endpoint))",
			"ALICLOUD_STS_ENDPOINT": "((alicloud_endpoint))",
		}
		packResources, cloudTasks := 0, 0
		for _, p := range pipelineFiles {
			// uninterpolated: the vars themselves, anchors expanded
			raw, err := os.ReadFile(p)
			Expect(err).NotTo(HaveOccurred())
			var doc plan
			Expect(yaml.Unmarshal(raw, &doc)).To(Succeed())
			for _, r := range steps(doc["resources"]) {
				Expect(r["type"]).NotTo(Equal("semver"), p)
				if !slices.Contains(packTypes, fmt.Sprint(r["type"])) {
					continue
				}
				packResources++
				source, _ := r["source"].(plan)
				for k, want := range cloudSource {
					Expect(source).To(HaveKeyWithValue(k, want), fmt.Sprintf("%s: resource %s", p, r["name"]))
				}
			}
			walk(doc, func(k string, v any) {
				if k == "type" {
					Expect(v).NotTo(Equal("semver"), p)
				}
				if k == "args" || k == "path" {
					Expect(fmt.Sprint(v)).NotTo(ContainSubstring("aliyun "), p+": ECS calls go through cpi-ci")
				}
			})
			walk(doc, func(_ string, v any) {
				s, ok := v.(plan)
				if !ok || s["task"] == nil {
					return
				}
				params, _ := s["params"].(plan)
				var cloudish []string
				for k := range params {
					if strings.HasPrefix(k, "ALICLOUD_") {
						cloudish = append(cloudish, k)
					}
				}
				if len(cloudish) == 0 {
					return
				}
				cloudTasks++
				for k, want := range cloudParams {
					Expect(params).To(HaveKeyWithValue(k, want), fmt.Sprintf("%s: task %s", p, s["task"]))
				}
				Expect(cloudish).To(HaveLen(len(cloudParams)))
			})
		}
		Expect(packResources).To(BeNumerically(">=", 10))
		Expect(cloudTasks).To(BeNumerically(">=", 10))

		// every task whose task.yml takes the cloud block gets it
		root, err := testtools.ModuleRoot()
		Expect(err).NotTo(HaveOccurred())
		for _, p := range pipelineFiles {
			walk(resolvedDoc(t, p, "vars/demo.yml"), func(_ string, v any) {
				s, ok := v.(plan)
				if !ok || s["task"] == nil || s["file"] == nil {
					return
				}
				rel := strings.TrimPrefix(fmt.Sprint(s["file"]), "concourse-pack/")
				cfg, err := localexec.LoadConfig(filepath.Join(root, rel), localexec.Vars{Files: []string{filepath.Join(root, "tasks/vars.example.yml")}})
				Expect(err).NotTo(HaveOccurred(), rel)
				if _, cloud := cfg.Params["ALICLOUD_REGION"]; !cloud {
					return
				}
				params, _ := s["params"].(plan)
				Expect(params).To(HaveKeyWithValue("ALICLOUD_RAM_ROLE", "ConcourseWorker"), fmt.Sprintf("%s: task %s", p, s["task"]))
				Expect(params).To(HaveKeyWithValue("ALICLOUD_REGION", "cn-hangzhou"), fmt.Sprintf("%s: task %s", p, s["task"]))
			})
		}
	})
}

// topKeys are a vars file's keys; documented: each paragraph of keys starts with a comment.
func topKeys(t *testing.T, path string) (all, undocumented []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	commented := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			commented = false
		case strings.HasPrefix(line, "#"):
			commented = true
		case !strings.HasPrefix(line, " "):
			key, _, _ := strings.Cut(line, ":")
			all = append(all, key)
			if !commented {
				undocumented = append(undocumented, key)
			}
		}
	}
	return all, undocumented
}

func testVarsFiles(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("each example file defines every var of the pipelines (but the credential manager's), each under a comment, and no other", func() {
		used := map[string]bool{}
		for _, p := range pipelineFiles {
			raw, err := os.ReadFile(p)
			Expect(err).NotTo(HaveOccurred())
			for _, m := range varRef.FindAllStringSubmatch(string(raw), -1) {
				used[m[1]] = true
			}
		}
		var want []string
		for k := range used {
			if !slices.Contains(credentialManagerVars, k) {
				want = append(want, k)
			}
		}
		for _, v := range exampleVars {
			all, undocumented := topKeys(t, v)
			Expect(all).To(ConsistOf(want), v)
			Expect(undocumented).To(BeEmpty(), v)
			body, err := os.ReadFile(v)
			Expect(err).NotTo(HaveOccurred())
			for _, k := range credentialManagerVars {
				Expect(string(body)).To(ContainSubstring(k), v+": says where "+k+" comes from")
			}
		}
		all, _ := topKeys(t, "vars/demo.yml")
		Expect(all).To(ConsistOf(keys(used)), "the demo's vars file gives every var")
	})

	it("the demo's vars agree with the local Concourse's vars.yml, which wins for task_image when given last", func() {
		local := "testdata/local-concourse-vars.yml"
		raw, err := os.ReadFile(filepath.Join("..", "cmd", "cpi-ci", "concourse.go"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).To(ContainSubstring(`Region: "cn-hangzhou", Bucket: "concourse-pack", Endpoint: "http://" + localconcourse.BridgeGateway + ":18090"`),
			"testdata/local-concourse-vars.yml follows what cpi-ci concourse up writes")
		for _, p := range pipelineFiles {
			demoFirst, demoLast := resolvedDoc(t, p, "vars/demo.yml", local), resolvedDoc(t, p, local, "vars/demo.yml")
			demoAlone := resolvedDoc(t, p, "vars/demo.yml")
			var images []string
			for _, doc := range []plan{demoAlone, demoFirst, demoLast} {
				var image string
				walk(doc, func(k string, v any) {
					if m, ok := v.(plan); ok && k == "vars" {
						if source, ok := m["task_image"].(plan); ok {
							image = fmt.Sprint(source["repository"])
						}
					}
					if k == "ALICLOUD_OSS_ENDPOINT" || k == "oss_endpoint" {
						Expect(v).To(Equal("http://10.80.0.1:18090"), p)
					}
					if k == "bucket" || k == "STATE_BUCKET" || k == "BUCKET" {
						Expect(v).To(Equal("concourse-pack"), p)
					}
				})
				images = append(images, image)
			}
			if p == "mirror.yml" {
				continue // no task
			}
			Expect(images).To(Equal([]string{"10.80.0.1:5000/task-demo", "10.80.0.1:5000/task", "10.80.0.1:5000/task-demo"}), p)
		}
	})

	it("the demo runs on the RAM role, the local registry's images and git inputs of the namespace", func() {
		var demo map[string]any
		data, err := os.ReadFile("vars/demo.yml")
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.Unmarshal(data, &demo)).To(Succeed())
		Expect(demo).To(HaveKeyWithValue("alicloud_ram_role", "ConcourseWorker"))
		Expect(demo).To(HaveKeyWithValue("alicloud_access_key_id", ""))
		Expect(demo).To(HaveKeyWithValue("alicloud_access_key_secret", ""))
		Expect(demo["director_env_resource_image"]).To(Equal(map[string]any{"repository": "10.80.0.1:5000/director-env-resource-e2e", "tag": "latest", "insecure": true}))
		Expect(demo["task_image"]).To(Equal(map[string]any{"repository": "10.80.0.1:5000/task-demo", "tag": "latest", "insecure": true}))
		for k, v := range demo {
			name, ok := strings.CutSuffix(k, "_type")
			if !ok {
				continue
			}
			Expect(v).To(Equal("git"), k)
			repo := strings.ReplaceAll(name, "_", "-")
			if strings.HasSuffix(name, "_release") {
				repo = strings.TrimSuffix(repo, "-release") + "-release"
			}
			Expect(demo[name+"_source"]).To(Equal(map[string]any{"uri": "git://10.80.0.1:9418/" + repo + ".git", "branch": "master"}), k)
		}
	})
}
