package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/image"
)

// runImages renders the images' Dockerfiles and builds the images hermetically.
func runImages(ctx context.Context, args []string, s stdio) error {
	const use = "usage: cpi-ci images build|dockerfiles [flags] images/*/image.yaml"
	if len(args) == 0 {
		return errors.New(use)
	}
	switch args[0] {
	case "build":
		return runImagesBuild(ctx, args[1:], s)
	case "dockerfiles":
		return runImagesDockerfiles(args[1:], s)
	}
	return fmt.Errorf("images: unknown subcommand %q\n%s", args[0], use)
}

// defaultCacheDir is where built tools and rootfs tarballs are kept between runs.
func defaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "concourse-pack")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "concourse-pack-cache")
	}
	return filepath.Join(home, ".cache", "concourse-pack")
}

func readSpecs(files []string) ([]image.Spec, error) {
	if len(files) == 0 {
		return nil, errors.New("no image.yaml given")
	}
	var specs []image.Spec
	for _, f := range files {
		spec, err := image.ReadSpec(f)
		if err != nil {
			return nil, err
		}
		if want := filepath.Base(filepath.Dir(f)); want != spec.Name {
			return nil, fmt.Errorf("%s: name %q, expected its folder's name %q", f, spec.Name, want)
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

func runImagesDockerfiles(args []string, s stdio) error {
	fs := flags("images dockerfiles", s)
	check := fs.Bool("check", false, "write nothing; fail when a Dockerfile is not what its image.yaml renders")
	if err := fs.Parse(args); err != nil {
		return err
	}
	specs, err := readSpecs(fs.Args())
	if err != nil {
		return err
	}
	var stale []string
	for i, spec := range specs {
		file := filepath.Join(filepath.Dir(fs.Arg(i)), "Dockerfile")
		want := spec.Dockerfile()
		if *check {
			if got, err := os.ReadFile(file); err != nil || string(got) != want {
				stale = append(stale, file)
			}
			continue
		}
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(s.out, "wrote %s\n", file); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("stale (run make dockerfiles): %s", strings.Join(stale, ", "))
	}
	return nil
}

func runImagesBuild(ctx context.Context, args []string, s stdio) error {
	fs := flags("images build", s)
	out := fs.String("out", "out/images", "where image tarballs and base-type dirs go")
	cache := fs.String("cache", defaultCacheDir(), "cache of Debian rootfs tarballs")
	repo := fs.String("repo", ".", "the repository root the files' from: paths are relative to")
	var inputFlags multiFlag
	fs.Var(&inputFlags, "input", "`NAME=PATH`: take an image's input from PATH on this machine (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	specs, err := readSpecs(fs.Args())
	if err != nil {
		return err
	}
	inputs, err := inputPaths(specs, inputFlags)
	if err != nil {
		return err
	}
	for _, spec := range specs {
		start := time.Now()
		rootfs, err := image.EnsureRootfs(ctx, spec, *cache, s.out)
		if err != nil {
			return fmt.Errorf("image %s: %w", spec.Name, err)
		}
		layer, err := image.EnsureInputs(ctx, spec, inputs[spec.Name], *cache, image.Options{}, s.out)
		if err != nil {
			return fmt.Errorf("image %s: %w", spec.Name, err)
		}
		res, err := image.Build(spec, rootfs, layer, *repo, *out, image.Options{})
		if err != nil {
			return fmt.Errorf("image %s: %w", spec.Name, err)
		}
		from := "made now"
		if res.Cached {
			from = "cached"
		}
		if err := reportImage(s.out, res, from, time.Since(start)); err != nil {
			return err
		}
	}
	return nil
}

// inputPaths sorts the --input NAME=PATH flags by the image that has an input of that name; a
// name no image has, or one given twice, is refused.
func inputPaths(specs []image.Spec, flags []string) (map[string]map[string]string, error) {
	owner := map[string]string{}
	for _, spec := range specs {
		for _, in := range spec.Inputs {
			owner[in.Name] = spec.Name
		}
	}
	byImage := map[string]map[string]string{}
	for _, f := range flags {
		name, p, ok := strings.Cut(f, "=")
		if !ok || name == "" || p == "" {
			return nil, fmt.Errorf("--input %q: expected NAME=PATH", f)
		}
		img, known := owner[name]
		if !known {
			return nil, fmt.Errorf("--input %s: no image given has an input of that name", name)
		}
		if byImage[img] == nil {
			byImage[img] = map[string]string{}
		}
		if _, twice := byImage[img][name]; twice {
			return nil, fmt.Errorf("--input %s: given twice", name)
		}
		byImage[img][name] = p
	}
	return byImage, nil
}

// reportImage writes what a build made to stdout; a failed write fails the command, so a cut-off
// answer never passes.
func reportImage(w io.Writer, res image.Result, from string, took time.Duration) error {
	if _, err := fmt.Fprintf(w, "image %s: %s, %s (%s), rootfs %s, %d Debian packages, built in %s\n",
		res.Name, res.Tarball, res.Digest, mib(res.Size), from, len(res.Packages), took.Round(100*time.Millisecond)); err != nil {
		return err
	}
	for _, b := range res.Binaries {
		if _, err := fmt.Fprintf(w, "  %s sha256:%s (identical to the repository's)\n", b.Path, b.SHA256); err != nil {
			return err
		}
	}
	for _, in := range res.Inputs {
		if _, err := fmt.Fprintf(w, "  input %s\n", in); err != nil {
			return err
		}
	}
	if len(res.Inputs) > 0 {
		from := "made now"
		if res.InputsCached {
			from = "cached"
		}
		if _, err := fmt.Fprintf(w, "  inputs layer %s\n", from); err != nil {
			return err
		}
	}
	if res.TypeDir != "" {
		if _, err := fmt.Fprintf(w, "  base type %s: rootfs.tgz %s\n", res.TypeDir, mib(res.TypeSize)); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "  packages: %s\n", strings.Join(res.Packages, ", "))
	return err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
