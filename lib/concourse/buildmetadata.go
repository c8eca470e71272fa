package concourse

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// BuildMetadata is the metadata Concourse gives get and put steps about the build running them. Check
// and tasks receive little or none of it (it varies by Concourse version), so code running there
// must not depend on it.
type BuildMetadata struct {
	ID           string // BUILD_ID: the build's internal id
	Name         string // BUILD_NAME: the number shown in the UI, e.g. "42"
	JobName      string // BUILD_JOB_NAME: empty for one-off builds (fly execute)
	PipelineName string // BUILD_PIPELINE_NAME
	InstanceVars string // BUILD_PIPELINE_INSTANCE_VARS: JSON object, for instanced pipelines
	TeamName     string // BUILD_TEAM_NAME
	CreatedBy    string // BUILD_CREATED_BY: set when a user triggered the build and the pipeline exposes it
	ExternalURL  string // ATC_EXTERNAL_URL: the web node's URL
}

// BuildMetadataFromEnv reads build metadata with getenv (os.Getenv in a resource's main).
func BuildMetadataFromEnv(getenv func(string) string) BuildMetadata {
	return BuildMetadata{
		ID:           getenv("BUILD_ID"),
		Name:         getenv("BUILD_NAME"),
		JobName:      getenv("BUILD_JOB_NAME"),
		PipelineName: getenv("BUILD_PIPELINE_NAME"),
		InstanceVars: getenv("BUILD_PIPELINE_INSTANCE_VARS"),
		TeamName:     getenv("BUILD_TEAM_NAME"),
		CreatedBy:    getenv("BUILD_CREATED_BY"),
		ExternalURL:  strings.TrimRight(getenv("ATC_EXTERNAL_URL"), "/"),
	}
}

// URL links to the build in the Concourse UI, or returns "" when the metadata does not say enough.
func (b BuildMetadata) URL() string {
	switch {
	case b.ExternalURL == "":
		return ""
	case b.TeamName != "" && b.PipelineName != "" && b.JobName != "" && b.Name != "":
		u := b.ExternalURL + "/teams/" + url.PathEscape(b.TeamName) +
			"/pipelines/" + url.PathEscape(b.PipelineName) +
			"/jobs/" + url.PathEscape(b.JobName) +
			"/builds/" + url.PathEscape(b.Name)
		if query := instanceVarsQuery(b.InstanceVars); query != "" {
			u += "?" + query
		}
		return u
	case b.ID != "":
		return b.ExternalURL + "/builds/" + url.PathEscape(b.ID)
	}
	return ""
}

// String names the build for logs and for records kept in the cloud ("pipeline/job #42").
func (b BuildMetadata) String() string {
	switch {
	case b.PipelineName != "" && b.JobName != "":
		return b.PipelineName + "/" + b.JobName + " #" + b.Name
	case b.ID != "":
		return "one-off build " + b.ID
	}
	return "a local run"
}

// instanceVarsQuery renders instance vars the way the Concourse UI addresses instanced
// pipelines: vars.<key>=<JSON value>, keys sorted.
func instanceVarsQuery(instanceVars string) string {
	var vars map[string]json.RawMessage
	if instanceVars == "" || json.Unmarshal([]byte(instanceVars), &vars) != nil || len(vars) == 0 {
		return ""
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape("vars."+k) + "=" + url.QueryEscape(string(vars[k]))
	}
	return strings.Join(parts, "&")
}
