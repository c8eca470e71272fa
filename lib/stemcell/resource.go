package stemcell

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

// Resource is the alicloud-light-stemcell resource type, ready for concourse.Main.
func Resource() concourse.Resource[Source, GetParams, PutParams] {
	open := func(env concourse.Env, c alicloud.Cloud) (*alicloud.Session, *alicloud.Store, error) {
		s, err := alicloud.NewSession(c, alicloud.Options{Log: env.Log, Secrets: env.Log.Secrets()})
		if err != nil {
			return nil, nil, err
		}
		store, err := s.Store()
		return s, store, err
	}
	return concourse.Resource[Source, GetParams, PutParams]{
		Name: "light-stemcell-resource",
		Check: func(ctx context.Context, env concourse.Env, req concourse.CheckRequest[Source]) ([]concourse.Version, error) {
			_, store, err := open(env, req.Source.Cloud)
			if err != nil {
				return nil, err
			}
			return Check(ctx, env.Log, store, req.Source, req.Version)
		},
		In: func(ctx context.Context, env concourse.Env, req concourse.InRequest[Source, GetParams]) (concourse.Response, error) {
			var v Version
			if err := concourse.DecodeVersion(req.Version, &v); err != nil {
				return concourse.Response{}, err
			}
			_, store, err := open(env, req.Source.Cloud)
			if err != nil {
				return concourse.Response{}, err
			}
			return In(ctx, env.Log, store, req.Source, v, req.Params, env.Dir)
		},
		Out: func(ctx context.Context, env concourse.Env, req concourse.OutRequest[Source, PutParams]) (concourse.Response, error) {
			s, store, err := open(env, req.Source.Cloud)
			if err != nil {
				return concourse.Response{}, err
			}
			return Out(ctx, env, s, store, req.Source, req.Params)
		},
	}
}
