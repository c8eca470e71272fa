# Every non-sensitive output becomes a key of the environment's metadata (docs/tasks.md): these
# are DESIGN.md's keys, plus what the CPI's integration suite reads (server_group_slb,
# manual_vswitch_id). The task reads zone back for destroy.

output "region" {
  value = var.region
}

output "zone" {
  value = var.zone
}

output "vpc_id" {
  value = alicloud_vpc.env.id
}

output "vswitch_id" {
  value = alicloud_vswitch.env.id
}

output "manual_vswitch_id" {
  value = alicloud_vswitch.manual.id
}

output "security_group_id" {
  value = alicloud_security_group.env.id
}

output "internal_cidr" {
  value = local.internal_cidr
}

# Alibaba Cloud's vswitch gateway is the subnet's .253.
output "internal_gw" {
  value = cidrhost(local.internal_cidr, 253)
}

output "internal_ip" {
  value = cidrhost(local.internal_cidr, 6)
}

output "external_ip" {
  value = alicloud_eip_address.director.ip_address
}

output "reserved_range" {
  value = "${cidrhost(local.internal_cidr, 1)}-${cidrhost(local.internal_cidr, 9)}"
}

output "static_range" {
  value = "${cidrhost(local.internal_cidr, 10)}-${cidrhost(local.internal_cidr, 30)}"
}

output "network_static_ip_1" {
  value = cidrhost(local.internal_cidr, 29)
}

output "network_static_ip_2" {
  value = cidrhost(local.internal_cidr, 30)
}

output "key_pair_name" {
  value = alicloud_ecs_key_pair.env.key_pair_name
}

# Alibaba Cloud's DNS inside a VPC.
output "dns_recursor_ip" {
  value = "100.100.2.136"
}

output "bats_eip" {
  value = alicloud_eip_address.bats.ip_address
}

output "slb" {
  value = alicloud_slb_load_balancer.env.id
}

output "server_group_slb" {
  value = alicloud_slb_server_group.env.id
}

output "blobstore_bucket" {
  value = alicloud_oss_bucket.blobstore.bucket
}

output "integration_bucket" {
  value = alicloud_oss_bucket.integration.bucket
}

output "ram_role" {
  value = alicloud_ram_role.env.name
}

# The task writes it to environment/ssh.key (SSH_KEY_OUTPUT); never in metadata or a log.
output "ssh_private_key" {
  value     = tls_private_key.ssh.private_key_pem
  sensitive = true
}
