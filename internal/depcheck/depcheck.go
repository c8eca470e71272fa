// Package depcheck holds the pack's layering rules and checks them against the import graph:
// which packages may link which (docs/architecture.md explains why).
//
// It is a test helper: its test loads the real graph with `go list -deps` and fails on a broken
// rule. Nothing but tests may import it.
package depcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
)

// Module is the pack's module path; patterns below are relative to it.
const Module = "github.com/bosh-alicloud/concourse-pack"

// Rule forbids packages matching From to link (import directly or through others) packages
// matching any of Forbid. Patterns are import paths relative to the module ("lib/alicloud"),
// "x/..." for x and everything below it, "..." for every package of the module, or absolute ("github.com/concourse/concourse/atc/...").
type Rule struct {
	Name   string
	From   []string
	Except []string // packages matching From that the rule does not apply to
	Forbid []string
}

// Rules are the pack's layering rules.
var Rules = []Rule{
	{
		Name:   "the emulator imports nothing of the pack",
		From:   []string{"lib/alicloud/sim"},
		Forbid: []string{"..."},
	},
	{
		Name:   "the cloud layer knows no Concourse and no domain",
		From:   []string{"lib/alicloud"},
		Forbid: append([]string{"lib/concourse/...", "resources/...", "cmd/..."}, domain...),
	},
	{
		Name:   "domain packages know no Concourse, resources or commands",
		From:   domain,
		Except: testHelpers,
		Forbid: []string{"lib/concourse/...", "resources/...", "cmd/..."},
	},
	{
		Name: "resource binaries link no emulator, test helper, local Concourse, local task executor, image builder or Concourse code",
		From: []string{"resources/..."},
		Forbid: append([]string{"lib/alicloud/sim/...", "lib/localconcourse/...", "lib/concourse/localexec/...", "lib/image/...",
			"github.com/concourse/concourse/...", "github.com/google/go-containerregistry/..."}, testHelpers...),
	},
	{
		Name:   "the protocol kit knows no domain and no cloud",
		From:   []string{"lib/concourse/..."},
		Forbid: append([]string{"lib/alicloud/...", "resources/...", "cmd/..."}, domain...),
	},
	{
		Name:   "leaf packages import nothing of the pack",
		From:   []string{"lib/problems", "lib/panics", "lib/tarsafe", "lib/yamlnode", "lib/junit"},
		Forbid: []string{"..."},
	},
}

// domain are the packages that model BOSH things and their operations.
var domain = []string{"lib/release/...", "lib/lease/...", "lib/stemcell/...", "lib/version/...", "lib/director/...", "lib/artifact/...", "lib/boshcli/..."}

// testHelpers are packages only tests (and the demo) may import.
var testHelpers = []string{"internal/...", "lib/stemcell/stemcelltest/...", "lib/concourse/conformance/...", "lib/concourse/internal/..."}

// Graph maps each package to every package it links (its transitive, non-test dependencies).
type Graph map[string][]string

// Violation is one broken rule: Package links Links.
type Violation struct {
	Rule    string
	Package string
	Links   string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s links %s", v.Rule, strings.TrimPrefix(v.Package, Module+"/"), strings.TrimPrefix(v.Links, Module+"/"))
}

// Check lists every violation of rules in g, sorted.
func Check(rules []Rule, g Graph) []Violation {
	var out []Violation
	for _, r := range rules {
		for _, pkg := range r.Packages(g) {
			for _, dep := range g[pkg] {
				if dep != pkg && matchesAny(r.Forbid, dep) {
					out = append(out, Violation{Rule: r.Name, Package: pkg, Links: dep})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Packages lists the packages of g the rule applies to, sorted.
func (r Rule) Packages(g Graph) []string {
	var out []string
	for pkg := range g {
		if matchesAny(r.From, pkg) && !matchesAny(r.Except, pkg) {
			out = append(out, pkg)
		}
	}
	sort.Strings(out)
	return out
}

func matchesAny(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if match(p, pkg) {
			return true
		}
	}
	return false
}

// match reports whether pkg matches pattern (see Rule).
func match(pattern, pkg string) bool {
	if pattern == "..." || !strings.Contains(strings.SplitN(pattern, "/", 2)[0], ".") {
		pattern = strings.TrimSuffix(Module+"/"+pattern, "/")
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// Load lists the graph of the module's packages with `go list -deps` run in dir: every package
// of the module and what each links.
func Load(dir string) (Graph, error) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps,Module", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	g := Graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			return g, nil
		} else if err != nil {
			return nil, fmt.Errorf("reading go list: %w", err)
		}
		g[p.ImportPath] = p.Deps
	}
}
