package testtools

// A bosh-deployment checkout in miniature: the files prepare-director uses, shaped like the real
// ones (cloudfoundry/bosh-deployment's bosh.yml, alicloud/cpi.yml, jumpbox-user.yml,
// external-ip-not-recommended.yml), with their paths and variables.
var BoshDeployment = map[string]string{
	"bosh.yml": `---
name: bosh
releases:
- name: bosh
  version: "282.0.0"
  url: https://bosh.io/d/github.com/cloudfoundry/bosh?v=282.0.0
  sha1: 1111111111111111111111111111111111111111
resource_pools:
- name: vms
  network: default
  env: {bosh: {mbus: {cert: ((mbus_bootstrap_ssl))}}}
disk_pools:
- name: disks
  disk_size: 65536
networks:
- name: default
  type: manual
  subnets:
  - range: ((internal_cidr))
    gateway: ((internal_gw))
    static: [((internal_ip))]
instance_groups:
- name: bosh
  instances: 1
  jobs: [{name: director, release: bosh}]
  resource_pool: vms
  persistent_disk_pool: disks
  networks: [{name: default, static_ips: [((internal_ip))]}]
  properties:
    director:
      name: ((director_name))
      user_management: {local: {users: [{name: admin, password: ((admin_password))}]}}
cloud_provider:
  mbus: https://mbus:((mbus_bootstrap_password))@((internal_ip)):6868
  cert: ((mbus_bootstrap_ssl))
  properties:
    agent: {mbus: "https://mbus:((mbus_bootstrap_password))@0.0.0.0:6868"}
variables:
- name: admin_password
  type: password
- name: mbus_bootstrap_password
  type: password
`,
	"alicloud/cpi.yml": `- name: cpi
  path: /releases/-
  type: replace
  value:
    name: bosh-alicloud-cpi
    sha1: 2222222222222222222222222222222222222222
    url: https://github.com/cloudfoundry/bosh-alicloud-cpi-release/releases/download/v61.0.0/bosh-alicloud-cpi-61.0.0.tgz
    version: 61.0.0
- name: stemcell
  path: /resource_pools/name=vms/stemcell?
  type: replace
  value:
    sha1: 3333333333333333333333333333333333333333
    url: https://example.com/light-bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble.tgz
- path: /resource_pools/name=vms/cloud_properties?
  type: replace
  value:
    availability_zone: ((zone))
    instance_type: ecs.mn4.small
    key_pair_name: ((key_pair_name))
- path: /networks/name=default/subnets/0/cloud_properties?
  type: replace
  value:
    security_group_ids: [((security_group_id))]
    vswitch_id: ((vswitch_id))
- path: /instance_groups/name=bosh/jobs/-
  type: replace
  value: {name: alicloud_cpi, release: bosh-alicloud-cpi}
- path: /cloud_provider/template?
  type: replace
  value: {name: alicloud_cpi, release: bosh-alicloud-cpi}
- path: /instance_groups/name=bosh/properties/alicloud?
  type: replace
  value:
    access_key_id: ((access_key_id))
    access_key_secret: ((access_key_secret))
    availability_zone: ((zone))
    region: ((region))
- path: /cloud_provider/properties/alicloud?
  type: replace
  value:
    access_key_id: ((access_key_id))
    access_key_secret: ((access_key_secret))
    availability_zone: ((zone))
    region: ((region))
`,
	"jumpbox-user.yml": `- path: /instance_groups/0/jobs/-
  type: replace
  value:
    name: user_add
    properties:
      users: [{name: jumpbox, public_key: ((jumpbox_ssh.public_key))}]
    release: os-conf
- path: /variables/-
  type: replace
  value: {name: jumpbox_ssh, type: ssh}
`,
	"external-ip-not-recommended.yml": `- type: replace
  path: /networks/-
  value: {name: public, type: vip}
- type: replace
  path: /instance_groups/name=bosh/networks/-
  value: {name: public, static_ips: [((external_ip))]}
- type: replace
  path: /cloud_provider/mbus
  value: https://mbus:((mbus_bootstrap_password))@((external_ip)):6868
`,
	"director-instance-type.yml": `- type: replace
  path: /resource_pools/name=vms/cloud_properties/instance_type
  value: ecs.g6.xlarge
`,
	"encrypted.yml": `- type: replace
  path: /cloud_provider/properties/alicloud/encrypted?
  value: true
`,
}
