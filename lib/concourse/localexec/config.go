// Package localexec runs a Concourse task on this machine the way a worker would: the task file
// parsed and validated with Concourse's own types, inputs copied into a scratch directory, params
// as environment, outputs copied back, the exit code passed through.
//
// It is the harness for fast task tests and `cpi-ci execute`. It runs on the host's PATH (the
// task's image is validated, not pulled) and must never be linked into a resource binary.
package localexec

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/concourse/concourse/atc"
	"github.com/concourse/concourse/vars"
	"sigs.k8s.io/yaml"
)

// Vars are the values for a task file's ((var)) references, as `fly execute` takes them.
type Vars struct {
	Pairs     []string // -v name=value: the value is a string
	YAMLPairs []string // -y name=value: the value is YAML
	Files     []string // -l vars.yml: later files win over earlier ones; pairs win over files
}

// variables turns v into Concourse variables, in fly's order of precedence.
func (v Vars) variables() ([]vars.Variables, error) {
	var pairs vars.KVPairs
	add := func(flag, pair string, yamlValue bool) error {
		name, value, ok := strings.Cut(pair, "=")
		if !ok || name == "" {
			return fmt.Errorf("%s %q: want name=value", flag, pair)
		}
		ref, err := vars.ParseReference(name)
		if err != nil {
			return fmt.Errorf("%s %q: %w", flag, pair, err)
		}
		var val any = value
		if yamlValue {
			if err := yaml.Unmarshal([]byte(value), &val); err != nil {
				return fmt.Errorf("%s %q: the value is not YAML: %w", flag, name, err)
			}
		}
		pairs = append(pairs, vars.KVPair{Ref: ref, Value: val})
		return nil
	}
	for _, p := range v.Pairs {
		if err := add("-v", p, false); err != nil {
			return nil, err
		}
	}
	for _, p := range v.YAMLPairs {
		if err := add("-y", p, true); err != nil {
			return nil, err
		}
	}
	out := []vars.Variables{pairs.Expand()}
	for i := len(v.Files) - 1; i >= 0; i-- {
		data, err := os.ReadFile(v.Files[i])
		if err != nil {
			return nil, fmt.Errorf("reading vars file: %w", err)
		}
		var static vars.StaticVariables
		if err := yaml.Unmarshal(data, &static); err != nil {
			return nil, fmt.Errorf("vars file %s: %w", v.Files[i], err)
		}
		out = append(out, static)
	}
	return out, nil
}

// LoadConfig reads a task file: ((vars)) interpolated from v (every one must be given), then
// parsed strictly with Concourse's task types (an unknown key is refused by name) and validated.
func LoadConfig(path string, v Vars) (atc.TaskConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return atc.TaskConfig{}, fmt.Errorf("reading task file: %w", err)
	}
	cfg, err := ParseConfig(data, v)
	if err != nil {
		return atc.TaskConfig{}, fmt.Errorf("task file %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig is LoadConfig for a task file's bytes.
func ParseConfig(data []byte, v Vars) (atc.TaskConfig, error) {
	// Duplicate keys are caught before interpolation, which would otherwise hide them (as fly does).
	if err := yaml.UnmarshalStrict(data, &map[string]any{}); err != nil {
		return atc.TaskConfig{}, fmt.Errorf("not valid YAML: %w", err)
	}
	params, err := v.variables()
	if err != nil {
		return atc.TaskConfig{}, err
	}
	resolved, err := vars.NewTemplateResolver(data, params).Resolve(true, false)
	if err != nil {
		return atc.TaskConfig{}, fmt.Errorf("interpolating: %w", err)
	}
	cfg, err := atc.NewTaskConfig(resolved)
	if err != nil {
		return atc.TaskConfig{}, err
	}
	if err := validate(cfg); err != nil {
		return atc.TaskConfig{}, err
	}
	return cfg, nil
}

// validate checks what Concourse checks only when it schedules the task, so that a task file that
// works here works on a cluster too.
func validate(cfg atc.TaskConfig) error {
	var problems []string
	if cfg.Platform != runtime.GOOS {
		problems = append(problems, fmt.Sprintf("platform: %q cannot run on this %s host", cfg.Platform, runtime.GOOS))
	}
	if ir := cfg.ImageResource; ir != nil {
		if ir.Type == "" {
			problems = append(problems, "image_resource.type: missing")
		}
		if len(ir.Source) == 0 {
			problems = append(problems, "image_resource.source: missing or empty")
		}
	} else if cfg.RootfsURI == "" {
		problems = append(problems, "image_resource: missing (a worker would have no image to run the task in)")
	}
	problems = append(problems, duplicates("inputs", cfg.Inputs, func(i atc.TaskInputConfig) string { return i.Name })...)
	problems = append(problems, duplicates("outputs", cfg.Outputs, func(o atc.TaskOutputConfig) string { return o.Name })...)
	for _, p := range allPaths(cfg) {
		if strings.HasPrefix(p, "/") || strings.Split(p, "/")[0] == ".." {
			problems = append(problems, fmt.Sprintf("path %q: must stay inside the task's working directory", p))
		}
	}
	if len(problems) > 0 {
		return errors.New("invalid task configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return nil
}

func duplicates[T any](key string, items []T, nameOf func(T) string) []string {
	var problems []string
	names := map[string]bool{}
	for _, item := range items {
		name := nameOf(item)
		if names[name] {
			problems = append(problems, fmt.Sprintf("%s: %q is declared twice", key, name))
		}
		names[name] = true
	}
	return problems
}

func allPaths(cfg atc.TaskConfig) []string {
	var out []string
	for _, i := range cfg.Inputs {
		out = append(out, pathOr(i.Path, i.Name))
	}
	for _, o := range cfg.Outputs {
		out = append(out, pathOr(o.Path, o.Name))
	}
	for _, c := range cfg.Caches {
		out = append(out, c.Path)
	}
	if cfg.Run.Dir != "" {
		out = append(out, cfg.Run.Dir)
	}
	sort.Strings(out)
	return out
}

func pathOr(path, name string) string {
	if path != "" {
		return strings.TrimSuffix(path, "/")
	}
	return name
}
