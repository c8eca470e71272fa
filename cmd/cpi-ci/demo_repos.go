package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/fixtures"
)

// The demo's git repositories: every one on branch master, committed by this author at this
// date, so the same inputs make the same commits.
const (
	demoGitAuthor = "concourse-pack demo"
	demoGitEmail  = "demo@concourse-pack.invalid"
	demoGitDate   = "2026-01-01T00:00:00Z"
	demoGitPort   = "9418"
)

// demoStemcells are the heavy stemcells the demo serves: OS line → version.
var demoStemcells = []struct{ Line, Version string }{{"ubuntu-noble", "1.484"}, {"ubuntu-jammy", "1.812"}}

// demoReleases are the releases the demo serves for mirroring: name → version, made with the
// real bosh CLI (bosh's version is bosh-deployment's bosh.yml's).
var demoReleases = []struct{ Name, Version string }{{"bosh", "282.0.0"}, {"bpm", "1.4.0"}, {"bosh-alicloud-cpi", "61.0.0"}}

// demoRepos makes the demo's repositories under base (the git daemon's --base-path) as bare
// repositories <name>.git, working in scratch, and returns their names.
type demoRepos struct {
	ctx     context.Context
	base    string
	scratch string
	home    string // HOME for git and bosh
	repo    string // this repository (concourse-pack.git is its HEAD)
}

func (r *demoRepos) env() []string {
	return append(os.Environ(), "HOME="+r.home, "GIT_CONFIG_NOSYSTEM=1", "BOSH_NON_INTERACTIVE=true",
		"GIT_AUTHOR_NAME="+demoGitAuthor, "GIT_AUTHOR_EMAIL="+demoGitEmail, "GIT_AUTHOR_DATE="+demoGitDate,
		"GIT_COMMITTER_NAME="+demoGitAuthor, "GIT_COMMITTER_EMAIL="+demoGitEmail, "GIT_COMMITTER_DATE="+demoGitDate)
}

func (r *demoRepos) run(dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(r.ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, r.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// makeAll writes every repository and returns name → commit.
func (r *demoRepos) makeAll() (map[string]string, error) {
	for _, d := range []string{r.base, r.scratch, r.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	type repo struct {
		name string
		fill func(dir string) error
	}
	repos := []repo{
		{"bosh-cpi-src", func(dir string) error { return writeFileMap(dir, fixtures.CPISource()) }},
		{"concourse-pack", r.packAtHEAD},
		{"bosh-deployment", func(dir string) error { return writeFileMap(dir, fixtures.BoshDeployment) }},
		{"bats", func(dir string) error { return writeFileMap(dir, fixtures.Bats()) }},
		// The environment task's terraform config: provider-free (no provider can be downloaded
		// here), with the pack's variables and outputs and a fresh SSH key.
		{"environment-config", func(dir string) error {
			key, err := fixtures.NewSSHKey()
			if err != nil {
				return err
			}
			return writeFileMap(dir, fixtures.EnvironmentConfig(key))
		}},
	}
	for _, s := range demoStemcells {
		repos = append(repos, repo{"heavy-stemcell-" + s.Line, func(dir string) error {
			data, err := fixtures.HeavyStemcellBytes(s.Line, s.Version)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "stemcell.tgz"), data, 0o644)
		}})
	}
	for _, rel := range demoReleases {
		repos = append(repos, repo{rel.Name + "-release", func(dir string) error { return r.release(dir, rel.Name, rel.Version) }})
	}
	commits := map[string]string{}
	for _, rp := range repos {
		commit, err := r.commit(rp.name, rp.fill)
		if err != nil {
			return nil, fmt.Errorf("repository %s.git: %w", rp.name, err)
		}
		commits[rp.name] = commit
	}
	return commits, nil
}

// commit fills a new working directory, commits it on master and clones it bare into base.
func (r *demoRepos) commit(name string, fill func(dir string) error) (string, error) {
	work := filepath.Join(r.scratch, name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	if err := fill(work); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "master"},
		{"add", "-A"},
		{"commit", "-q", "--no-gpg-sign", "-m", "concourse-pack demo: " + name},
	} {
		if _, err := r.run(work, "git", args...); err != nil {
			return "", err
		}
	}
	if _, err := r.run(r.scratch, "git", "clone", "-q", "--bare", work, filepath.Join(r.base, name+".git")); err != nil {
		return "", err
	}
	out, err := r.run(work, "git", "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// packAtHEAD writes this repository's tracked files at HEAD.
func (r *demoRepos) packAtHEAD(dir string) error {
	archive := filepath.Join(r.scratch, "concourse-pack.tar")
	if _, err := r.run(r.repo, "git", "archive", "--format=tar", "-o", archive, "HEAD"); err != nil {
		return err
	}
	_, err := r.run(dir, "tar", "-xf", archive)
	if rmErr := os.Remove(archive); err == nil {
		err = rmErr
	}
	return err
}

// release makes a small final release with the real bosh CLI and leaves only release.tgz in dir.
func (r *demoRepos) release(dir, name, version string) error {
	src := filepath.Join(r.scratch, name+"-release-src")
	if _, err := r.run(r.scratch, "bosh", "init-release", "--dir", src); err != nil {
		return err
	}
	if _, err := r.run(src, "bosh", "generate-job", name); err != nil {
		return err
	}
	files := map[string]string{
		"config/final.yml": fmt.Sprintf("name: %s\nblobstore:\n  provider: local\n  options:\n    blobstore_path: %s\n",
			name, filepath.Join(r.scratch, name+"-final-blobs")),
		"jobs/" + name + "/spec":              fmt.Sprintf("---\nname: %s\ntemplates:\n  run.erb: bin/run\npackages: []\nproperties: {}\n", name),
		"jobs/" + name + "/templates/run.erb": fmt.Sprintf("#!/bin/bash\necho %s %s, a demo stand-in\n", name, version),
	}
	if err := writeFileMap(src, files); err != nil {
		return err
	}
	_, err := r.run(src, "bosh", "create-release", "--final", "--force", "--version", version, "--tarball", filepath.Join(dir, "release.tgz"))
	return err
}

func writeFileMap(dir string, files map[string]string) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(files[n]), 0o644); err != nil {
			return err
		}
	}
	return nil
}
