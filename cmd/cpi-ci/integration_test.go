package main

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testIntegrationCommand(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	metadata := func() map[string]string {
		return map[string]string{"region": "cn-hangzhou", "zone": "cn-hangzhou-i", "security_group_id": "sg-1", "vswitch_id": "vsw-1",
			"internal_cidr": "172.16.0.0/20", "internal_ip": "172.16.0.6", "internal_gw": "172.16.0.1", "external_ip": "47.0.0.6",
			"integration_bucket": "ib"}
	}

	it("computes the netmask of the internal CIDR, and leaves the optional variables to the suite's defaults", func() {
		env, err := integrationEnv(metadata())
		Expect(err).NotTo(HaveOccurred())
		Expect(env).To(HaveKeyWithValue("CPI_INTERNAL_NETMASK", "255.255.240.0"))
		Expect(env).NotTo(HaveKey("CPI_SLB_ID"))
		Expect(env).NotTo(HaveKey("RAM_ROLE_NAME"))
	})

	it("refuses an internal_cidr that is no IPv4 CIDR, naming it", func() {
		m := metadata()
		m["internal_cidr"] = "172.16.0.0"
		_, err := integrationEnv(m)
		Expect(err).To(MatchError(ContainSubstring(`internal_cidr "172.16.0.0" is not a CIDR`)))
		m["internal_cidr"] = "fd00::/64"
		_, err = integrationEnv(m)
		Expect(err).To(MatchError(ContainSubstring("is not an IPv4 CIDR")))
	})

	it("names the upload so that ECS takes it as an image name, unique to the run", func() {
		a, err := uploadName("bats/1 env")
		Expect(err).NotTo(HaveOccurred())
		b, _ := uploadName("bats/1 env")
		Expect(a).To(MatchRegexp(`^root-bats-1-env-\d{8}t\d{6}-[0-9a-f]{8}\.img$`))
		Expect(a).NotTo(Equal(b))
	})

	it("names what is missing", func() {
		_, stderr, code := cli("", "integration", "--metadata", "m.json")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("missing --stemcell, --report, COMMAND"))
	})
}
