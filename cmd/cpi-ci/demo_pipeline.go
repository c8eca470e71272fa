package main

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// demoJob is what the demo needs to know of a pipeline's job: the jobs its gets name in passed
// (it runs after them) and whether Concourse starts it by itself (a get with trigger: true).
type demoJob struct {
	Name     string
	After    []string // jobs of passed constraints, sorted, without repeats
	Triggers []string // resources of gets with trigger: true
}

// Manual says the job runs only when someone triggers it.
func (j demoJob) Manual() bool { return len(j.Triggers) == 0 }

type demoResource struct{ Name, Type string }

// demoPipeline is a pipeline's jobs in file order and its resources.
type demoPipeline struct {
	Jobs      []demoJob
	Resources []demoResource
}

// parseDemoPipeline reads the jobs and resources of a pipeline config. Every get step in a
// job counts wherever it is nested (do, in_parallel, try, across, hooks): YAML anchors and merge
// keys are resolved by the decoder, and ((vars)) are plain strings to it.
func parseDemoPipeline(data []byte) (demoPipeline, error) {
	var raw struct {
		Jobs      []map[string]any `yaml:"jobs"`
		Resources []struct {
			Name string `yaml:"name"`
			Type string `yaml:"type"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return demoPipeline{}, fmt.Errorf("parsing the pipeline: %w", err)
	}
	var p demoPipeline
	for _, r := range raw.Resources {
		p.Resources = append(p.Resources, demoResource{Name: r.Name, Type: r.Type})
	}
	for i, j := range raw.Jobs {
		name, _ := j["name"].(string)
		if name == "" {
			return demoPipeline{}, fmt.Errorf("job %d has no name", i+1)
		}
		job := demoJob{Name: name}
		after, triggers := map[string]bool{}, map[string]bool{}
		walkGets(j, func(step map[string]any) {
			resource, _ := step["resource"].(string)
			if resource == "" {
				resource, _ = step["get"].(string)
			}
			if passed, ok := step["passed"].([]any); ok {
				for _, p := range passed {
					if s, ok := p.(string); ok {
						after[s] = true
					}
				}
			}
			if t, _ := step["trigger"].(bool); t {
				triggers[resource] = true
			}
		})
		job.After, job.Triggers = sortedKeys(after), sortedKeys(triggers)
		p.Jobs = append(p.Jobs, job)
	}
	return p, nil
}

// walkGets calls fn on every map with a "get" key under v.
func walkGets(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["get"]; ok {
			fn(v)
		}
		for _, child := range v {
			walkGets(child, fn)
		}
	case []any:
		for _, child := range v {
			walkGets(child, fn)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jobOrder is the pipeline's jobs in dependency order: every job after the jobs its passed
// constraints name, ties kept in file order. A passed constraint naming no job, or a cycle, is
// an error naming the jobs.
func jobOrder(jobs []demoJob) ([]string, error) {
	index := map[string]int{}
	for i, j := range jobs {
		index[j.Name] = i
	}
	for _, j := range jobs {
		for _, a := range j.After {
			if _, ok := index[a]; !ok {
				return nil, fmt.Errorf("job %s: passed names %s, which is no job of the pipeline", j.Name, a)
			}
		}
	}
	done := map[string]bool{}
	var order []string
	for len(order) < len(jobs) {
		progressed := false
		for _, j := range jobs {
			if done[j.Name] {
				continue
			}
			ready := true
			for _, a := range j.After {
				if !done[a] && a != j.Name {
					ready = false
				}
			}
			if ready {
				done[j.Name] = true
				order = append(order, j.Name)
				progressed = true
				break // file order among the ready ones: start from the top again
			}
		}
		if !progressed {
			var left []string
			for _, j := range jobs {
				if !done[j.Name] {
					left = append(left, j.Name)
				}
			}
			return nil, fmt.Errorf("the passed constraints of jobs %s form a cycle", strings.Join(left, ", "))
		}
	}
	return order, nil
}
