package main

import (
	"context"
	"slices"
	"strconv"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

// check answers the env's revisions from the given one on (only the latest on the first check);
// with a pool, the newest revision across its members. An env with no revision gives [].
func check(ctx context.Context, store director.Store, source Source, from *concourse.Version) ([]concourse.Version, error) {
	if source.Env != "" {
		numbers, err := store.Numbers(ctx, source.Env)
		if err != nil || len(numbers) == 0 {
			return nil, err
		}
		start := len(numbers) - 1
		if from.Get("env") == source.Env {
			if n, err := strconv.Atoi(from.Get("revision")); err == nil {
				if i, found := slices.BinarySearch(numbers, n); found {
					start = i
				}
			}
		}
		out := make([]concourse.Version, 0, len(numbers)-start)
		for _, n := range numbers[start:] {
			out = append(out, version(source.Env, n))
		}
		return out, nil
	}
	var newest director.Revision
	for _, env := range source.Envs {
		latest, found, err := store.Latest(ctx, env)
		if err != nil {
			return nil, err
		}
		if found && (newest.Env == "" || latest.Time.After(newest.Time)) {
			newest = latest
		}
	}
	if newest.Env == "" {
		return nil, nil
	}
	var out []concourse.Version
	if env, rev := from.Get("env"), from.Get("revision"); slices.Contains(source.Envs, env) && (env != newest.Env || rev != strconv.Itoa(newest.Number)) {
		if n, err := strconv.Atoi(rev); err == nil {
			if _, err := store.Read(ctx, env, n); err == nil {
				out = append(out, version(env, n))
			}
		}
	}
	return append(out, version(newest.Env, newest.Number)), nil
}

func version(env string, n int) concourse.Version {
	return concourse.EncodeVersion(Version{Env: env, Revision: strconv.Itoa(n)})
}
