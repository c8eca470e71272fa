// Command director-env-resource is the bosh-director-env Concourse resource type: it creates,
// leases, describes and destroys BOSH director environments whose create-env state lives in
// OSS, never lost. Run it as check, in or out (symlinks in the image) or as
// `director-env-resource check|in DIR|out DIR`.
//
// This package is the resource's Concourse layer (types.go, check.go, in.go, out.go): it maps
// requests onto lib/director (the store, leases and bosh runs).
package main

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

func main() { concourse.Main(resource()) }

// opened is a step's connection: the session (for credentials) and the env store.
type opened struct {
	session *alicloud.Session
	store   director.Store
}

func open(env concourse.Env, source Source) (opened, error) {
	session, err := alicloud.NewSession(source.Cloud, alicloud.Options{Log: env.Log, Secrets: env.Log.Secrets()})
	if err != nil {
		return opened{}, err
	}
	objects, err := session.StoreIn(source.Region, source.Bucket, source.Prefix+source.Pool)
	if err != nil {
		return opened{}, err
	}
	return opened{session: session, store: director.Store{Objects: objects}}, nil
}

func resource() concourse.Resource[Source, GetParams, PutParams] {
	return concourse.Resource[Source, GetParams, PutParams]{
		Name: "director-env-resource",
		Check: func(ctx context.Context, env concourse.Env, req concourse.CheckRequest[Source]) ([]concourse.Version, error) {
			o, err := open(env, req.Source)
			if err != nil {
				return nil, err
			}
			return check(ctx, o.store, req.Source, req.Version)
		},
		In: func(ctx context.Context, env concourse.Env, req concourse.InRequest[Source, GetParams]) (concourse.Response, error) {
			var v Version
			if err := concourse.DecodeVersion(req.Version, &v); err != nil {
				return concourse.Response{}, err
			}
			o, err := open(env, req.Source)
			if err != nil {
				return concourse.Response{}, err
			}
			return in(ctx, env, o.store, req.Source, v)
		},
		Out: func(ctx context.Context, env concourse.Env, req concourse.OutRequest[Source, PutParams]) (concourse.Response, error) {
			o, err := open(env, req.Source)
			if err != nil {
				return concourse.Response{}, err
			}
			return out(ctx, env, o, req.Source, req.Params)
		},
	}
}
