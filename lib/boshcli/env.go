package boshcli

import (
	"bytes"
	"context"
)

// Env is one `bosh create-env` or `bosh delete-env` of a director manifest. Every path is
// relative to Dir (or absolute). Secrets go in VarsFiles (files the caller writes 0600), never
// in argv.
type Env struct {
	Dir       string   // the working directory: the manifest's relative paths resolve here
	Manifest  string   // the rendered manifest
	State     string   // --state
	VarsStore string   // --vars-store
	VarsFiles []string // --vars-file, in order
	Home      string   // HOME for bosh (its ~/.bosh installation cache); empty: the caller's
	// Watch, when set, is called before each piece of bosh's output reaches the log, so the
	// caller can learn secrets bosh has just written (the vars store) before they are printed.
	Watch func()
}

func (e Env) args(command string) []string {
	args := []string{command, e.Manifest, "--non-interactive", "--state", e.State, "--vars-store", e.VarsStore}
	for _, f := range e.VarsFiles {
		args = append(args, "--vars-file", f)
	}
	return args
}

func (e Env) options() runOptions {
	opts := runOptions{dir: e.Dir, watch: e.Watch}
	if e.Home != "" {
		opts.env = []string{"HOME=" + e.Home}
	}
	return opts
}

// CreateEnv runs `bosh create-env`: it creates or updates the director and writes the state
// file and vars store as it goes, also when it fails.
func (b CLI) CreateEnv(ctx context.Context, e Env) error {
	return b.run(ctx, "create-env "+e.Manifest, e.options(), e.args("create-env")...)
}

// DeleteEnv runs `bosh delete-env` with the state and vars store create-env left.
func (b CLI) DeleteEnv(ctx context.Context, e Env) error {
	return b.run(ctx, "delete-env "+e.Manifest, e.options(), e.args("delete-env")...)
}

// Interpolate runs `bosh interpolate` of manifest with ops files and vars files applied (in
// dir) and returns the result; variables with no value stay as ((name)).
func (b CLI) Interpolate(ctx context.Context, dir, manifest string, opsFiles, varsFiles []string) ([]byte, error) {
	args := []string{"interpolate", manifest}
	for _, o := range opsFiles {
		args = append(args, "--ops-file", o)
	}
	for _, f := range varsFiles {
		args = append(args, "--vars-file", f)
	}
	var out bytes.Buffer
	if err := b.run(ctx, "interpolate "+manifest, runOptions{dir: dir, stdout: &out}, args...); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
