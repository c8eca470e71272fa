# The pack's own test environment for the Alibaba Cloud CPI (docs/tasks.md, "environment"). The
# environment task keeps its state in OSS: it adds the oss backend itself (an override file in a
# work copy), so no backend block belongs here.
terraform {
  required_version = ">= 1.5"
  required_providers {
    alicloud = {
      source  = "aliyun/alicloud"
      version = ">= 1.240.0"
    }
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0.0"
    }
  }
}

# Credentials come from the environment (ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY,
# ALICLOUD_SECURITY_TOKEN), set by cpi-ci cloud exec: never in a .tf file or on argv.
provider "alicloud" {
  region = var.region
}
