package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/artifact"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

// The files in writes besides director.yml, director-state.json and creds.yml.
const (
	fileEnv         = "director.env"
	fileJumpboxKey  = "jumpbox.key"
	fileBDRSource   = "bdr-source-file"
	fileName        = "name"
	fileMetadata    = "metadata"
	fileCA          = "ca.crt"
	fileLease       = "lease"
	fileDestroyed   = "destroyed"
	secretFilesMode = 0o600
)

// in fetches a revision: the env's files as create-env left them, director.env, the jumpbox key
// and a bosh-deployment-resource source (all 0600), plus name, metadata, ca.crt and, when the
// revision's lease is still held, its token. A destroyed env gives name and a destroyed marker.
func in(ctx context.Context, env concourse.Env, store director.Store, source Source, v Version) (concourse.Response, error) {
	if !slices.Contains(source.members(), v.Env) {
		return concourse.Response{}, fmt.Errorf("version env %q is not an env of this source (%v)", v.Env, source.members())
	}
	n, err := strconv.Atoi(v.Revision)
	if err != nil || n <= 0 {
		return concourse.Response{}, fmt.Errorf("version revision %q: expected a positive number", v.Revision)
	}
	if err := refuseLink(filepath.Join(env.Dir, "files")); err != nil {
		return concourse.Response{}, err
	}
	rev, err := store.Fetch(ctx, v.Env, n, env.Dir, env.Log.Secrets())
	if err != nil {
		return concourse.Response{}, err
	}
	metadata := rev.Metadata
	if len(metadata) == 0 {
		metadata = json.RawMessage("{}")
	}
	files := map[string][]byte{fileName: []byte(rev.Env), fileMetadata: metadata}
	if rev.Destroyed() {
		files[fileDestroyed] = []byte("revision " + v.Revision + " destroyed the env\n")
	}
	secrets := map[string][]byte{}
	if rev.Live() {
		creds, err := os.ReadFile(filepath.Join(env.Dir, director.CredsFile))
		if err != nil {
			return concourse.Response{}, err
		}
		manifest, err := os.ReadFile(filepath.Join(env.Dir, director.ManifestFile))
		if err != nil {
			return concourse.Response{}, err
		}
		target, err := director.TargetOf(creds, manifest, rev.Metadata)
		if err != nil {
			return concourse.Response{}, err
		}
		env.Log.Secrets().Register(target.ClientSecret, target.JumpboxKey)
		secrets[fileEnv] = []byte(target.EnvScript(source.address()))
		bdr, err := target.DeploymentSource(source.address())
		if err != nil {
			return concourse.Response{}, err
		}
		secrets[fileBDRSource] = bdr
		if target.JumpboxKey != "" {
			secrets[fileJumpboxKey] = []byte(target.JumpboxKey)
		}
		files[fileCA] = []byte(target.CACert)
		for _, name := range []string{director.ManifestFile, director.StateFile, director.CredsFile} {
			if err := os.Chmod(filepath.Join(env.Dir, name), secretFilesMode); err != nil {
				return concourse.Response{}, err
			}
		}
	}
	if rev.Lease != nil {
		holder, held, err := store.Holder(ctx, rev.Env)
		if err != nil {
			return concourse.Response{}, err
		}
		if held && holder.Token == rev.Lease.Token {
			env.Log.Secrets().Register(holder.Token)
			secrets[fileLease] = []byte(holder.Token)
		}
	}
	for name, content := range files {
		if err := artifact.WriteFile(env.Dir, name, content, 0o644); err != nil {
			return concourse.Response{}, err
		}
	}
	for name, content := range secrets {
		if err := artifact.WriteFile(env.Dir, name, content, secretFilesMode); err != nil {
			return concourse.Response{}, err
		}
	}
	return response(rev), nil
}

// refuseLink removes a symbolic link planted where in makes a directory, so nothing is written
// through it.
func refuseLink(path string) error {
	info, err := os.Lstat(path)
	if err == nil && info.Mode()&os.ModeSymlink != 0 {
		return os.Remove(path)
	}
	return nil
}

// response is what in and out answer for a revision.
func response(r director.Revision) concourse.Response {
	return concourse.Response{Version: version(r.Env, r.Number), Metadata: metadata(r)}
}

// metadata is what the Concourse UI shows: public facts only (never the lease token).
func metadata(r director.Revision) concourse.Metadata {
	var m concourse.Metadata
	m.Add("env", r.Env)
	m.Add("revision", strconv.Itoa(r.Number))
	m.Add("status", string(r.Status))
	m.Add("action", r.Action)
	m.Add("by", r.Who)
	if !r.Time.IsZero() {
		m.Add("time", r.Time.Format(time.RFC3339))
	}
	if r.Lease != nil {
		m.Add("lease_owner", r.Lease.Owner)
		m.Add("lease_expires", r.Lease.Expires.Format(time.RFC3339))
	}
	m.Add("error", r.Error)
	return m
}
