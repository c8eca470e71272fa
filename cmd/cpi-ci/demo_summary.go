package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// demoBuild is the outcome of one job in the demo: the build it waited for.
type demoBuild struct {
	Pipeline, Job string
	Build         string // the build's name (its number in the job), "" when it never ran
	Status        string // succeeded, failed, errored, aborted, or why it never ran
	Duration      time.Duration
}

// demoVersion is one version of a resource with its metadata, in the order Concourse shows it.
type demoVersion struct {
	Version  map[string]string
	Metadata [][2]string
}

func (v demoVersion) meta(name string) string {
	for _, m := range v.Metadata {
		if m[0] == name {
			return m[1]
		}
	}
	return ""
}

// demoResourceVersions is what the summary shows of one of the pack's resources.
type demoResourceVersions struct {
	Pipeline, Resource, Type string
	Versions                 []demoVersion // oldest first
}

// demoStemcell is one light stemcell version read from its records: image per region.
type demoStemcell struct {
	Stemcell, Version, Channel string
	Images                     map[string]string
}

type demoSummary struct {
	Builds    []demoBuild
	Resources []demoResourceVersions
	Stemcells []demoStemcell
	Elapsed   time.Duration
}

// Failed lists the jobs that did not succeed ("pipeline/job status").
func (s demoSummary) Failed() []string {
	var failed []string
	for _, b := range s.Builds {
		if b.Status != "succeeded" {
			failed = append(failed, fmt.Sprintf("%s/%s %s", b.Pipeline, b.Job, b.Status))
		}
	}
	return failed
}

// demoDoubles is the summary's line on what did not run for real.
const demoDoubles = "create-env, BATs, deploy and errands ran against test doubles: the task image's demo variant " +
	"(images/task-demo: a director double for bosh, a BATs double for bundle) and the director-env resource's " +
	"(images/director-env-resource-e2e: a bosh double for create-env and delete-env); everything else ran for real " +
	"against the emulator"

// Render writes the summary: every job's status and duration, the light stemcell images per
// region, the releases' versions and sha256, the director envs' revisions, what were doubles.
func (s demoSummary) Render(w io.Writer) error {
	var b strings.Builder
	b.WriteString("\n== summary\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "job\tbuild\tstatus\tduration") // a tabwriter over a strings.Builder never fails
	for _, j := range s.Builds {
		build, took := j.Build, "-"
		if build == "" {
			build = "-"
		} else {
			took = j.Duration.Round(time.Second).String()
		}
		_, _ = fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\n", j.Pipeline, j.Job, build, j.Status, took)
	}
	_ = tw.Flush() // writes to a strings.Builder, which never fails

	if len(s.Stemcells) > 0 {
		b.WriteString("\nlight stemcells (image per region, from the resource's records):\n")
		shown := map[string]bool{} // pipelines sharing a bucket and prefix read the same records
		for _, st := range s.Stemcells {
			if key := st.Stemcell + " " + st.Version + " " + st.Channel; shown[key] {
				continue
			} else {
				shown[key] = true
			}
			regions := make([]string, 0, len(st.Images))
			for r := range st.Images {
				regions = append(regions, r)
			}
			sort.Strings(regions)
			fmt.Fprintf(&b, "  %s %s (%s, %d regions)\n", st.Stemcell, st.Version, st.Channel, len(regions))
			for _, r := range regions {
				fmt.Fprintf(&b, "    %-16s %s\n", r, st.Images[r])
			}
		}
	}
	for _, kind := range []struct{ typ, title string }{
		{"alicloud-light-stemcell", "light stemcell versions"},
		{"bosh-release", "releases (version, sha256)"},
		{"bosh-director-env", "director envs (every revision: the lease taken and released)"},
	} {
		var lines []string
		for _, r := range s.Resources {
			if r.Type != kind.typ {
				continue
			}
			if len(r.Versions) == 0 {
				lines = append(lines, fmt.Sprintf("  %s/%s: no version", r.Pipeline, r.Resource))
			}
			for _, v := range r.Versions {
				lines = append(lines, fmt.Sprintf("  %s/%s: %s", r.Pipeline, r.Resource, describeVersion(kind.typ, v)))
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(&b, "\n%s:\n%s\n", kind.title, strings.Join(lines, "\n"))
		}
	}
	fmt.Fprintf(&b, "\n%s.\n", demoDoubles)
	if failed := s.Failed(); len(failed) > 0 {
		fmt.Fprintf(&b, "\ndemo FAILED in %s: %s\n", s.Elapsed.Round(time.Second), strings.Join(failed, ", "))
	} else {
		fmt.Fprintf(&b, "\ndemo passed in %s: all %d jobs succeeded\n", s.Elapsed.Round(time.Second), len(s.Builds))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func describeVersion(typ string, v demoVersion) string {
	keys := make([]string, 0, len(v.Version))
	for k := range v.Version {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+v.Version[k])
	}
	text := strings.Join(parts, " ")
	pick := func(names ...string) {
		for _, n := range names {
			if m := v.meta(n); m != "" {
				text += " " + n + "=" + m
			}
		}
	}
	switch typ {
	case "bosh-release":
		pick("sha256", "size")
	case "alicloud-light-stemcell":
		pick("regions", "sha256")
	case "bosh-director-env":
		pick("status", "action", "by", "lease_owner", "error")
	}
	return text
}
