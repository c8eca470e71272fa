// Command light-stemcell-resource is the alicloud-light-stemcell Concourse resource type: it
// builds, publishes, tracks and fetches Alibaba Cloud light stemcells. Run it as check, in or out
// (symlinks in the image) or as `light-stemcell-resource check|in DIR|out DIR`.
//
// This package is the resource's Concourse layer (types.go, check.go, in.go, out.go): it maps
// requests onto lib/stemcell (the model), lib/stemcell/builder (the images) and
// lib/stemcell/records (the OSS layout).
package main

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
)

func main() { concourse.Main(resource()) }

func resource() concourse.Resource[Source, GetParams, PutParams] {
	open := func(env concourse.Env, source Source) (*alicloud.Session, records.Line, error) {
		s, err := alicloud.NewSession(source.Cloud, alicloud.Options{Log: env.Log, Secrets: env.Log.Secrets()})
		if err != nil {
			return nil, records.Line{}, err
		}
		store, err := s.Store()
		return s, records.Line{Store: store, Stemcell: source.Stemcell}, err
	}
	return concourse.Resource[Source, GetParams, PutParams]{
		Name: "light-stemcell-resource",
		Check: func(ctx context.Context, env concourse.Env, req concourse.CheckRequest[Source]) ([]concourse.Version, error) {
			_, line, err := open(env, req.Source)
			if err != nil {
				return nil, err
			}
			return check(ctx, env.Log, line, req.Source, req.Version)
		},
		In: func(ctx context.Context, env concourse.Env, req concourse.InRequest[Source, GetParams]) (concourse.Response, error) {
			var v Version
			if err := concourse.DecodeVersion(req.Version, &v); err != nil {
				return concourse.Response{}, err
			}
			s, line, err := open(env, req.Source)
			if err != nil {
				return concourse.Response{}, err
			}
			return in(ctx, env.Log, s, line, req.Source, v, req.Params, env.Dir)
		},
		Out: func(ctx context.Context, env concourse.Env, req concourse.OutRequest[Source, PutParams]) (concourse.Response, error) {
			s, line, err := open(env, req.Source)
			if err != nil {
				return concourse.Response{}, err
			}
			return out(ctx, env, s, line, req.Source, req.Params)
		},
	}
}
