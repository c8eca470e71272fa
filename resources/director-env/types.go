package main

import (
	"strconv"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

// Source configures the resource: the shared cloud block and one env, or a pool of them.
type Source struct {
	alicloud.Cloud
	// Env is the name of the one env this resource tracks.
	Env string `json:"env"`
	// Pool is a prefix (under prefix) holding the envs named in Envs, its members.
	Pool string   `json:"pool"`
	Envs []string `json:"envs"`
	// BoshCLI is the bosh CLI to run; default `bosh` from PATH.
	BoshCLI string `json:"bosh_cli"`
	// Address is which IP director.env targets: internal or external (the default).
	Address director.Address `json:"address"`
}

// Validate wants exactly one of env and pool (with its members), and names that can be envs.
func (s Source) Validate() error {
	var problems concourse.Problems
	switch {
	case s.Env == "" && s.Pool == "":
		problems.Add("env", "missing: give env (one env) or pool with envs (a pool of them)")
	case s.Env != "" && s.Pool != "":
		problems.Add("pool", "give either env or pool, not both")
	case s.Env != "":
		if err := director.CheckEnvName(s.Env); err != nil {
			problems.Add("env", "%s", err)
		}
		if len(s.Envs) > 0 {
			problems.Add("envs", "goes with pool")
		}
	default:
		if len(s.Envs) == 0 {
			problems.Add("envs", "missing: a pool needs its members' names")
		}
		seen := map[string]bool{}
		for i, e := range s.Envs {
			if err := director.CheckEnvName(e); err != nil {
				problems.Add("envs["+strconv.Itoa(i)+"]", "%s", err)
			}
			if seen[e] {
				problems.Add("envs["+strconv.Itoa(i)+"]", "%q is listed twice", e)
			}
			seen[e] = true
		}
	}
	switch s.Address {
	case "", director.AddressInternal, director.AddressExternal:
	default:
		problems.Add("address", "expected internal or external, got %q", s.Address)
	}
	return problems.Err()
}

// members are the envs the source covers.
func (s Source) members() []string {
	if s.Env != "" {
		return []string{s.Env}
	}
	return s.Envs
}

func (s Source) address() director.Address {
	if s.Address == "" {
		return director.AddressExternal
	}
	return s.Address
}

// Version is one revision of one env: {"env": "bats", "revision": "3"}.
type Version struct {
	Env      string `json:"env" required:"true"`
	Revision string `json:"revision" required:"true"`
}

// GetParams: in takes none; it always writes every file.
type GetParams struct{}

// The actions of out.
const (
	ActionCreate   = "create"
	ActionDestroy  = "destroy"
	ActionClaim    = "claim"
	ActionRelease  = "release"
	ActionRegister = "register"
)

// PutParams choose an action and its inputs (paths relative to the build directory).
type PutParams struct {
	Action string `json:"action" required:"true"`
	// Env picks the member of a pool to create, destroy or register; with env in source, unused.
	Env string `json:"env"`

	Manifest        string         `json:"manifest"`
	OpsFiles        []string       `json:"ops_files"`
	Vars            map[string]any `json:"vars"`
	VarsFiles       []string       `json:"vars_files"`
	MetadataFile    string         `json:"metadata_file"`
	DeleteOnFailure bool           `json:"delete_on_failure"`

	// Lease is the directory of a get that holds the lease (its `lease` file).
	Lease        string             `json:"lease"`
	LeaseTTL     concourse.Duration `json:"lease_ttl"`
	ClaimTimeout concourse.Duration `json:"claim_timeout"`

	// Dir (register) holds director.yml, creds.yml, director-state.json and optional metadata.
	Dir string `json:"dir"`
}

// Validate wants what the action needs and nothing it would ignore.
func (p PutParams) Validate() error {
	var problems concourse.Problems
	createOnly := func() {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"manifest", p.Manifest != ""}, {"ops_files", len(p.OpsFiles) > 0}, {"vars", len(p.Vars) > 0},
			{"vars_files", len(p.VarsFiles) > 0}, {"metadata_file", p.MetadataFile != ""}, {"delete_on_failure", p.DeleteOnFailure},
		} {
			if f.set {
				problems.Add(f.key, "goes with action create, not %s", p.Action)
			}
		}
	}
	switch p.Action {
	case ActionCreate:
		if p.Manifest == "" {
			problems.Add("manifest", "missing: create needs the director manifest")
		}
	case ActionDestroy, ActionRelease:
		createOnly()
		if p.Action == ActionRelease && p.Lease == "" {
			problems.Add("lease", "missing: release needs the directory of a get holding the lease")
		}
	case ActionClaim:
		createOnly()
		if p.Lease != "" {
			problems.Add("lease", "goes with create, destroy, release and register; claim takes a new lease")
		}
	case ActionRegister:
		createOnly()
		if p.Dir == "" {
			problems.Add("dir", "missing: register needs the directory holding director.yml, creds.yml and director-state.json")
		}
	case "":
	default:
		problems.Add("action", "expected create, destroy, claim, release or register, got %q", p.Action)
	}
	if p.LeaseTTL < 0 {
		problems.Add("lease_ttl", "must not be negative")
	}
	if p.ClaimTimeout != 0 && p.Action != ActionClaim {
		problems.Add("claim_timeout", "goes with action claim")
	}
	return problems.Err()
}
