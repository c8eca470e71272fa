package alicloud_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testCredentials(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *cloud
		ctx    = context.Background()
	)
	it.Before(func() { c = newCloud(t) })

	put := func(source alicloud.Cloud) error {
		_, err := c.store(source).Put(ctx, "probe", []byte("x"), alicloud.PutOptions{})
		return err
	}

	when("the secret is wrong", func() {
		it("fails at once with the cloud's code and the server's string to sign", func() {
			source := c.source()
			source.AccessKeySecret = "not-the-secret"
			err := put(source)
			Expect(alicloud.HasCode(err, "SignatureDoesNotMatch")).To(BeTrue(), "%v", err)
			Expect(err).To(MatchError(ContainSubstring("HTTP 403")))
			Expect(err).To(MatchError(ContainSubstring("request id")))
			Expect(c.calls("oss", "PutObject")).To(Equal(1), "never retried")
		})
	})

	when("an STS token goes with a wrong secret", func() {
		it("does not quote the token back in the error", func() {
			assumer := c.source()
			assumer.AssumeRoleARN = "acs:ram::1234567890:role/ci"
			sts, err := c.session(assumer).Credentials(ctx)
			Expect(err).NotTo(HaveOccurred())
			source := c.source()
			source.AccessKeyID, source.AccessKeySecret, source.SecurityToken = sts.AccessKeyID, "wrong-secret", sts.SecurityToken
			_, err = c.session(source).Regions(ctx)
			Expect(alicloud.HasCode(err, "SignatureDoesNotMatch")).To(BeTrue(), "%v", err)
			Expect(err.Error()).To(ContainSubstring("the server's string to sign is left out"))
			for _, form := range []string{sts.SecurityToken, url.QueryEscape(sts.SecurityToken), url.QueryEscape(url.QueryEscape(sts.SecurityToken))} {
				Expect(err.Error()).NotTo(ContainSubstring(form))
			}
		})
	})

	when("the key is unknown", func() {
		it("fails at once with InvalidAccessKeyId", func() {
			source := c.source()
			source.AccessKeyID = "LTAI-nobody"
			err := put(source)
			Expect(alicloud.HasCode(err, "InvalidAccessKeyId")).To(BeTrue(), "%v", err)
			Expect(c.calls("oss", "PutObject")).To(Equal(1))
		})
	})

	shortLived := func(d time.Duration) func(*alicloud.Options) {
		return func(o *alicloud.Options) { o.AssumeRoleDuration = d }
	}

	when("a role is assumed", func() {
		it("signs with the role's STS credentials and renews them across expiry", func() {
			source := c.source()
			source.AssumeRoleARN = "acs:ram::1234567890:role/ci"
			s := c.session(source, shortLived(2*time.Second))
			st, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			_, err = st.Put(ctx, "one", []byte("1"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			first, err := s.Credentials(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(first.AccessKeyID).To(HavePrefix("STS."))
			Expect(first.SecurityToken).NotTo(BeEmpty())
			Expect(c.log.Secrets()).To(ContainElements(first.AccessKeySecret, first.SecurityToken), "fetched secrets are registered for redaction")
			Expect(c.calls("sts", "AssumeRole")).To(Equal(1))

			_, err = st.Put(ctx, "two", []byte("2"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(c.calls("sts", "AssumeRole")).To(Equal(1), "cached while valid")

			time.Sleep(2100 * time.Millisecond) // the first credentials have expired
			_, err = st.Put(ctx, "three", []byte("3"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(c.calls("sts", "AssumeRole")).To(Equal(2), "renewed")
			second, err := s.Credentials(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(second.AccessKeyID).NotTo(Equal(first.AccessKeyID))
		})
	})

	when("static STS credentials are given", func() {
		it("uses the security token, and fails at once with the cloud's code once it has expired", func() {
			assumer := c.source()
			assumer.AssumeRoleARN = "acs:ram::1234567890:role/ci"
			sts, err := c.session(assumer, shortLived(time.Second)).Credentials(ctx)
			Expect(err).NotTo(HaveOccurred())

			source := c.source()
			source.AccessKeyID, source.AccessKeySecret, source.SecurityToken = sts.AccessKeyID, sts.AccessKeySecret, sts.SecurityToken
			Expect(put(source)).To(Succeed())

			time.Sleep(2100 * time.Millisecond) // past expiry, which the cloud states to the second
			before := c.calls("oss", "PutObject")
			err = put(source)
			Expect(alicloud.HasCode(err, "SecurityTokenExpired")).To(BeTrue(), "%v", err)
			Expect(c.calls("oss", "PutObject")-before).To(Equal(1), "not retried")
		})
	})

	when("the worker's ECS RAM role is used", func() {
		it("reads the role's credentials from the metadata service", func() {
			source := c.source()
			source.AccessKeyID, source.AccessKeySecret = "", ""
			source.RAMRole = "ConcourseWorker"
			Expect(put(source)).To(Succeed())
			Expect(c.calls("metadata", "")).To(BeNumerically(">=", 1))
		})

		it("names the role when the instance does not have it", func() {
			source := c.source()
			source.AccessKeyID, source.AccessKeySecret = "", ""
			source.RAMRole = "NoSuchRole"
			err := put(source)
			Expect(err).To(MatchError(ContainSubstring("getting credentials from the ECS RAM role NoSuchRole")))
			Expect(err).To(MatchError(ContainSubstring(`RoleNotFound (HTTP 404): this instance has no RAM role "NoSuchRole" attached`)))
		})
	})
}
