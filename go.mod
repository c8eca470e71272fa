module github.com/bosh-alicloud/concourse-pack

go 1.26

require (
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/cppforlife/go-semi-semantic v0.0.0-20160921010311-576b6af77ae4
	github.com/onsi/gomega v1.44.0
	github.com/sclevine/spec v1.4.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/onsi/ginkgo v1.16.5 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/text v0.38.0 // indirect
)
