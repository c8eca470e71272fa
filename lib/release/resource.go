package release

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

// Resource is the bosh-release resource type, ready for concourse.Main.
func Resource() concourse.Resource[Source, GetParams, PutParams] {
	return concourse.Resource[Source, GetParams, PutParams]{
		Name: "bosh-release-resource",
		Check: func(ctx context.Context, env concourse.Env, req concourse.CheckRequest[Source]) ([]concourse.Version, error) {
			objects, err := alicloud.OpenStore(req.Source.Cloud, env.Log, env.Log.Secrets())
			if err != nil {
				return nil, err
			}
			return Check(ctx, env.Log, objects, req.Source, req.Version)
		},
		In: func(ctx context.Context, env concourse.Env, req concourse.InRequest[Source, GetParams]) (concourse.Response, error) {
			var v Version
			if err := concourse.DecodeVersion(req.Version, &v); err != nil {
				return concourse.Response{}, err
			}
			objects, err := alicloud.OpenStore(req.Source.Cloud, env.Log, env.Log.Secrets())
			if err != nil {
				return concourse.Response{}, err
			}
			return In(ctx, env.Log, objects, req.Source, v, req.Params, env.Dir)
		},
		Out: func(ctx context.Context, env concourse.Env, req concourse.OutRequest[Source, PutParams]) (concourse.Response, error) {
			objects, err := alicloud.OpenStore(req.Source.Cloud, env.Log, env.Log.Secrets())
			if err != nil {
				return concourse.Response{}, err
			}
			return Out(ctx, env, objects, BoshCLI{Log: env.Log}, req.Source, req.Params)
		},
	}
}
