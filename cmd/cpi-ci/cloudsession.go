package main

import (
	"os"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

// openCloud completes a cloud block from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID,
// ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN, unless a RAM role is used) and
// opens a session and its store, logging to stderr with every secret redacted.
func openCloud(cloud alicloud.Cloud, s stdio) (*alicloud.Session, *alicloud.Store, *concourse.Logger, error) {
	if cloud.RAMRole == "" {
		cloud.AccessKeyID = os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID")
		cloud.AccessKeySecret = os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
		cloud.SecurityToken = os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN")
	}
	secrets := concourse.NewRedactor(cloud.AccessKeySecret, cloud.SecurityToken)
	log := concourse.NewLogger(s.err, secrets, os.Getenv("NO_COLOR") == "")
	session, err := alicloud.NewSession(cloud, alicloud.Options{Log: log, Secrets: secrets})
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := session.Store()
	return session, store, log, err
}
