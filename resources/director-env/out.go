package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/boshcli"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

// defaultLeaseTTL is how long a claim holds an env when lease_ttl is not given.
const defaultLeaseTTL = 4 * time.Hour

// out runs an action; create, destroy and register store a revision before they fail.
func out(ctx context.Context, env concourse.Env, o opened, source Source, params PutParams) (concourse.Response, error) {
	ttl := params.LeaseTTL.Std()
	if ttl == 0 {
		ttl = defaultLeaseTTL
	}
	who := env.Build.String()
	if params.Action == ActionClaim {
		wait := params.ClaimTimeout.Std()
		r, err := o.store.ClaimOne(ctx, source.members(), who, ttl, wait, env.Log)
		if err != nil {
			return concourse.Response{}, err
		}
		return response(r), nil
	}
	target, err := targetEnv(source, params, env.Dir)
	if err != nil {
		return concourse.Response{}, err
	}
	token, err := leaseToken(env.Dir, params.Lease)
	if err != nil {
		return concourse.Response{}, err
	}
	env.Log.Secrets().Register(token)
	if params.Action == ActionRelease {
		r, err := o.store.Release(ctx, target, token, who, env.Log)
		if err != nil {
			return concourse.Response{}, err
		}
		return response(r), nil
	}
	work, err := os.MkdirTemp("", "director-env-")
	if err != nil {
		return concourse.Response{}, err
	}
	defer func() {
		if err := os.RemoveAll(work); err != nil {
			env.Log.Warnf("could not remove %s: %v", work, err)
		}
	}()
	runner := director.Runner{
		Store: o.store, Log: env.Log, Secrets: env.Log.Secrets(), Bosh: boshcli.CLI{Log: env.Log, Path: source.BoshCLI},
		Work: work, Who: who, LeaseTTL: leaseRenewal(params), Images: o.session, Region: source.Region,
		Credentials: func(ctx context.Context) (director.Credentials, error) {
			c, err := o.session.Credentials(ctx)
			return director.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}, err
		},
	}
	var r director.Revision
	switch params.Action {
	case ActionCreate:
		var metadata json.RawMessage
		if params.MetadataFile != "" {
			data, err := os.ReadFile(filepath.Join(env.Dir, params.MetadataFile))
			if err != nil {
				return concourse.Response{}, fmt.Errorf("params.metadata_file: %w", err)
			}
			if !json.Valid(data) || !strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
				return concourse.Response{}, fmt.Errorf("params.metadata_file %s: expected a JSON object (the environment task's metadata)", params.MetadataFile)
			}
			metadata = data
		}
		r, err = runner.Create(ctx, director.CreateRequest{
			Env: target, Dir: env.Dir, Manifest: params.Manifest, OpsFiles: params.OpsFiles, Vars: params.Vars,
			VarsFiles: params.VarsFiles, Metadata: metadata, Lease: token, DeleteOnFailure: params.DeleteOnFailure,
		})
	case ActionDestroy:
		r, err = runner.Destroy(ctx, target, token)
	case ActionRegister:
		r, err = runner.Register(ctx, target, filepath.Join(env.Dir, params.Dir), token)
	}
	if err != nil {
		return concourse.Response{}, err
	}
	return response(r), nil
}

// leaseRenewal is how long a holder's create or destroy extends the lease: lease_ttl when given,
// else the lease's own length (0).
func leaseRenewal(params PutParams) time.Duration { return params.LeaseTTL.Std() }

// targetEnv is the env an action changes: source.env, or params.env of a pool (or the env of
// the lease directory's get).
func targetEnv(source Source, params PutParams, buildDir string) (string, error) {
	if source.Env != "" {
		if params.Env != "" && params.Env != source.Env {
			return "", fmt.Errorf("params.env %q differs from source.env %q", params.Env, source.Env)
		}
		return source.Env, nil
	}
	name := params.Env
	if name == "" && params.Lease != "" {
		data, err := os.ReadFile(filepath.Join(buildDir, params.Lease, fileName))
		if err != nil {
			return "", fmt.Errorf("params.lease: %s has no name file (is it the get of a claim?): %w", params.Lease, err)
		}
		name = strings.TrimSpace(string(data))
	}
	if name == "" {
		return "", fmt.Errorf("params.env: missing: a pool's %s needs the member (or lease, the directory of the get of a claim)", params.Action)
	}
	for _, e := range source.Envs {
		if e == name {
			return name, nil
		}
	}
	return "", fmt.Errorf("params.env %q is not a member of the pool (%v)", name, source.Envs)
}

// leaseToken reads the token from the lease directory (a get of a claimed revision).
func leaseToken(buildDir, leaseDir string) (string, error) {
	if leaseDir == "" {
		return "", nil
	}
	data, err := os.ReadFile(filepath.Join(buildDir, leaseDir, fileLease))
	if err != nil {
		return "", fmt.Errorf("params.lease: %s holds no lease file (is it the get of a claim whose lease is still held?): %w", leaseDir, err)
	}
	return strings.TrimSpace(string(data)), nil
}
