locals {
  tags          = { env = var.env_name, managed-by = "concourse-pack" }
  internal_cidr = cidrsubnet(var.vpc_cidr, 8, 0)
  manual_cidr   = cidrsubnet(var.vpc_cidr, 8, 1)
}

data "alicloud_account" "current" {}

resource "alicloud_vpc" "env" {
  vpc_name   = var.env_name
  cidr_block = var.vpc_cidr
  tags       = local.tags
}

resource "alicloud_vswitch" "env" {
  vswitch_name = var.env_name
  vpc_id       = alicloud_vpc.env.id
  cidr_block   = local.internal_cidr
  zone_id      = var.zone
  tags         = local.tags
}

# The integration suite's second network (manual_vswitch_id).
resource "alicloud_vswitch" "manual" {
  vswitch_name = "${var.env_name}-manual"
  vpc_id       = alicloud_vpc.env.id
  cidr_block   = local.manual_cidr
  zone_id      = var.zone
  tags         = local.tags
}

resource "alicloud_security_group" "env" {
  security_group_name = var.env_name
  vpc_id              = alicloud_vpc.env.id
  tags                = local.tags
}

resource "alicloud_security_group_rule" "internal" {
  security_group_id = alicloud_security_group.env.id
  type              = "ingress"
  ip_protocol       = "all"
  port_range        = "-1/-1"
  cidr_ip           = var.vpc_cidr
}

# ssh, the agent (create-env), the director, UAA, CredHub.
resource "alicloud_security_group_rule" "external" {
  for_each          = toset(["22/22", "6868/6868", "25555/25555", "8443/8443", "8844/8844"])
  security_group_id = alicloud_security_group.env.id
  type              = "ingress"
  ip_protocol       = "tcp"
  port_range        = each.value
  cidr_ip           = var.allowed_cidr
}

# Outbound internet for the VMs without a public address (compilation, BATs).
resource "alicloud_nat_gateway" "env" {
  nat_gateway_name = var.env_name
  vpc_id           = alicloud_vpc.env.id
  vswitch_id       = alicloud_vswitch.env.id
  nat_type         = "Enhanced"
  payment_type     = "PayAsYouGo"
  tags             = local.tags
}

resource "alicloud_eip_address" "nat" {
  address_name         = "${var.env_name}-nat"
  internet_charge_type = "PayByTraffic"
  tags                 = local.tags
}

resource "alicloud_eip_association" "nat" {
  allocation_id = alicloud_eip_address.nat.id
  instance_id   = alicloud_nat_gateway.env.id
  instance_type = "Nat"
}

resource "alicloud_snat_entry" "env" {
  depends_on        = [alicloud_eip_association.nat]
  snat_table_id     = alicloud_nat_gateway.env.snat_table_ids
  source_vswitch_id = alicloud_vswitch.env.id
  snat_ip           = alicloud_eip_address.nat.ip_address
}

# The director's public address (external_ip) and the BATs VM's (bats_eip).
resource "alicloud_eip_address" "director" {
  address_name         = "${var.env_name}-director"
  internet_charge_type = "PayByTraffic"
  tags                 = local.tags
}

resource "alicloud_eip_address" "bats" {
  address_name         = "${var.env_name}-bats"
  internet_charge_type = "PayByTraffic"
  tags                 = local.tags
}

# The load balancer the CPI registers VMs with (slb), and its server group (server_group_slb).
resource "alicloud_slb_load_balancer" "env" {
  load_balancer_name = var.env_name
  address_type       = "intranet"
  vswitch_id         = alicloud_vswitch.env.id
  load_balancer_spec = "slb.s1.small"
  tags               = local.tags
}

resource "alicloud_slb_server_group" "env" {
  load_balancer_id = alicloud_slb_load_balancer.env.id
  name             = var.env_name
}

# The director's key pair: the private key is a sensitive output, written to ssh.key by the task.
resource "tls_private_key" "ssh" {
  algorithm = "RSA"
  rsa_bits  = 4096
}

resource "alicloud_ecs_key_pair" "env" {
  key_pair_name = var.env_name
  public_key    = tls_private_key.ssh.public_key_openssh
  tags          = local.tags
}

# The buckets of the director's blobstore and of the integration suite's image uploads.
resource "alicloud_oss_bucket" "blobstore" {
  bucket        = "${var.env_name}-${data.alicloud_account.current.id}-blobstore"
  force_destroy = true
  tags          = local.tags
}

resource "alicloud_oss_bucket" "integration" {
  bucket        = "${var.env_name}-${data.alicloud_account.current.id}-integration"
  force_destroy = true
  tags          = local.tags
}

# The RAM role of the director's and the test VMs' instances (ram_role).
resource "alicloud_ram_role" "env" {
  name = "${var.env_name}-bosh"
  document = jsonencode({
    Version = "1"
    Statement = [{
      Action    = "sts:AssumeRole"
      Effect    = "Allow"
      Principal = { Service = ["ecs.aliyuncs.com"] }
    }]
  })
  force = true
}

resource "alicloud_ram_role_policy_attachment" "env" {
  role_name   = alicloud_ram_role.env.name
  policy_name = "AliyunECSFullAccess"
  policy_type = "System"
}
