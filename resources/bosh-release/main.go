// Command bosh-release-resource is the bosh-release Concourse resource type: it publishes, tracks
// and fetches BOSH release tarballs kept in an OSS bucket. Run it as check, in or out (symlinks
// in the image) or as `bosh-release-resource check|in DIR|out DIR`.
//
// This package is the resource's Concourse layer (types.go, check.go, in.go, out.go): it maps
// requests onto lib/release (the model) and lib/release/records (the OSS layout).
package main

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/boshcli"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/release/records"
)

func main() { concourse.Main(resource()) }

func resource() concourse.Resource[Source, GetParams, PutParams] {
	open := func(env concourse.Env, source Source) (records.Releases, error) {
		store, err := alicloud.OpenStore(source.Cloud, env.Log, env.Log.Secrets())
		return records.Releases{Objects: store, Name: source.Name}, err
	}
	return concourse.Resource[Source, GetParams, PutParams]{
		Name: "bosh-release-resource",
		Check: func(ctx context.Context, env concourse.Env, req concourse.CheckRequest[Source]) ([]concourse.Version, error) {
			releases, err := open(env, req.Source)
			if err != nil {
				return nil, err
			}
			return check(ctx, env.Log, releases, req.Source, req.Version)
		},
		In: func(ctx context.Context, env concourse.Env, req concourse.InRequest[Source, GetParams]) (concourse.Response, error) {
			var v Version
			if err := concourse.DecodeVersion(req.Version, &v); err != nil {
				return concourse.Response{}, err
			}
			releases, err := open(env, req.Source)
			if err != nil {
				return concourse.Response{}, err
			}
			return in(ctx, env.Log, releases, v, req.Params, env.Dir)
		},
		Out: func(ctx context.Context, env concourse.Env, req concourse.OutRequest[Source, PutParams]) (concourse.Response, error) {
			releases, err := open(env, req.Source)
			if err != nil {
				return concourse.Response{}, err
			}
			return out(ctx, env, releases, boshcli.CLI{Log: env.Log}, req.Source.VersionFamily, req.Params)
		},
	}
}
