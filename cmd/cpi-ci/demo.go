package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	"gopkg.in/yaml.v3"
)

// demoMarker marks a work directory as the demo's own, so a rerun may wipe it and nothing else.
const demoMarker = ".cpi-ci-demo"

// runDemo runs what the pack can do end to end on this machine. Today: the real bosh CLI and fly
// built by `make tools`, and the pack's BOSH version rules checked against the versions the real
// `bosh create-release` chooses, release after release.
func runDemo(ctx context.Context, args []string, s stdio) error {
	fs := flags("demo", s)
	workDir := fs.String("work-dir", "out/demo", "directory for the demo's files (wiped on each run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := prepareWorkDir(*workDir)
	if err != nil {
		return err
	}
	d := &demo{ctx: ctx, s: s, dir: dir, home: filepath.Join(dir, "home")}
	if err := os.MkdirAll(d.home, 0o755); err != nil {
		return err
	}
	start := time.Now()
	for _, stage := range []struct {
		name string
		run  func() error
	}{
		{"tools", d.tools},
		{"release versions agree with the bosh CLI", d.releaseVersions},
		{"bosh-release resource on the emulator", d.releaseResource},
		{"light-stemcell resource on the emulator", d.lightStemcell},
	} {
		d.printf("\n== %s\n", stage.name)
		if err := stage.run(); err != nil {
			return fmt.Errorf("demo stage %q: %w", stage.name, err)
		}
	}
	d.printf("\ndemo passed in %s (files in %s)\n", time.Since(start).Round(time.Millisecond), dir)
	return nil
}

func prepareWorkDir(path string) (string, error) {
	dir, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", err
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return "", fmt.Errorf("work dir %s is not empty and was not made by the demo; choose another with --work-dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, demoMarker), nil, 0o644)
}

type demo struct {
	ctx  context.Context
	s    stdio
	dir  string
	home string // HOME for the bosh CLI, so the demo never touches the user's ~/.bosh
}

// printf and println narrate the demo on stdout. The narration is best effort: the demo's
// outcome is its exit status, so a line that cannot be written does not stop it.
func (d *demo) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(d.s.out, format, args...) // best effort (above)
}

func (d *demo) println(args ...any) {
	_, _ = fmt.Fprintln(d.s.out, args...) // best effort (above)
}

// cli runs a tool found on PATH in dir and returns its stdout.
func (d *demo) cli(dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+d.home, "BOSH_NON_INTERACTIVE=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func (d *demo) tools() error {
	for _, tool := range []string{"bosh", "fly"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			return fmt.Errorf("%s is not on PATH: run `make tools` and put bin/ on PATH (make demo does both)", tool)
		}
		out, err := d.cli(d.dir, tool, "--version")
		if err != nil {
			return err
		}
		d.printf("%-5s %s (%s)\n", tool, strings.TrimSpace(out), path)
	}
	return nil
}

// releaseVersions creates dev and final releases of a small release with the real bosh CLI and
// checks that lib/version predicted every version bosh chose.
func (d *demo) releaseVersions() error {
	release := filepath.Join(d.dir, "demo-release")
	if _, err := d.cli(d.dir, "bosh", "init-release", "--dir", release); err != nil {
		return err
	}
	if _, err := d.cli(release, "bosh", "generate-job", "hello"); err != nil {
		return err
	}
	if _, err := d.cli(release, "bosh", "generate-package", "greeter"); err != nil {
		return err
	}
	blobstore := filepath.Join(d.dir, "final-blobstore")
	finalYML := fmt.Sprintf("name: demo\nblobstore:\n  provider: local\n  options:\n    blobstore_path: %s\n", blobstore)
	if err := os.MkdirAll(blobstore, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(release, "config", "final.yml"), []byte(finalYML), 0o644); err != nil {
		return err
	}

	var lastFinal, lastDev *version.Version
	steps := [][]string{{}, {}, {"--final"}, {}, {"--final", "--version", "2.1.0"}, {}, {}, {"--final"}}
	d.printf("%-48s %-12s %-12s\n", "step", "pack said", "bosh chose")
	for i, flags := range steps {
		// bosh makes a dev release on every run, and with --final a final one from it.
		wantDev, err := version.NextDev(lastFinal, lastDev)
		if err != nil {
			return err
		}
		var wantFinal *version.Version
		if len(flags) > 0 {
			next, err := version.NextFinal(lastFinal)
			if err != nil {
				return err
			}
			if len(flags) == 3 {
				// An explicit --version names the dev build bosh makes on the way, too.
				next = version.MustParse(flags[2])
				wantDev = next
			}
			wantFinal = &next
		}
		if err := touch(release, i); err != nil {
			return err
		}
		args := append([]string{"create-release", "--force", "--json"}, flags...)
		if _, err := d.cli(release, "bosh", args...); err != nil {
			return err
		}
		gotFinal, gotDev, err := releaseIndices(release, "demo")
		if err != nil {
			return err
		}
		label := strings.Join(append([]string{"create-release"}, flags...), " ")
		if err := agree(d, label+" (dev)", wantDev, gotDev); err != nil {
			return err
		}
		if wantFinal != nil {
			if err := agree(d, label+" (final)", *wantFinal, gotFinal); err != nil {
				return err
			}
		}
		lastFinal, lastDev = gotFinal, gotDev
	}
	return nil
}

func agree(d *demo, label string, want version.Version, got *version.Version) error {
	if got == nil || !got.Equal(want) || got.String() != want.String() {
		return fmt.Errorf("%s: the pack predicted %s but bosh made %v", label, want, got)
	}
	d.printf("%-48s %-12s %-12s ok\n", label, want, got)
	return nil
}

// touch changes a job template so every release has new content.
func touch(release string, i int) error {
	template := filepath.Join(release, "jobs", "hello", "templates", "run.erb")
	return os.WriteFile(template, []byte(fmt.Sprintf("#!/bin/bash\necho hello %d\n", i)), 0o644)
}

// releaseIndices returns the newest final and dev versions recorded in a release directory's
// indices (nil when an index is empty).
func releaseIndices(release, name string) (final, dev *version.Version, err error) {
	read := func(kind string) (*version.Version, error) {
		data, err := os.ReadFile(filepath.Join(release, kind, name, "index.yml"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		var index struct {
			Builds map[string]struct {
				Version string `yaml:"version"`
			} `yaml:"builds"`
		}
		if err := yaml.Unmarshal(data, &index); err != nil {
			return nil, fmt.Errorf("%s index: %w", kind, err)
		}
		texts := make([]string, 0, len(index.Builds))
		for _, b := range index.Builds {
			texts = append(texts, b.Version)
		}
		versions, err := version.ParseAll(texts)
		if err != nil {
			return nil, fmt.Errorf("%s index: %w", kind, err)
		}
		return version.Latest(versions), nil
	}
	if final, err = read("releases"); err != nil {
		return nil, nil, err
	}
	dev, err = read("dev_releases")
	return final, dev, err
}
