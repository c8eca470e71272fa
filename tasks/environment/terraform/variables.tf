# The environment task passes these three with -var (an undeclared one fails loudly); a config
# of your own must declare them too.

variable "env_name" {
  type        = string
  description = "The environment's name (ENV_NAME or ENV_NAME_FILE): a prefix of every resource name, and the tag env."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,40}$", var.env_name))
    error_message = "env_name: lower-case letters, digits and -, at most 41 characters (it prefixes bucket names)."
  }
}

variable "region" {
  type        = string
  description = "The region (ALICLOUD_REGION)."
}

variable "zone" {
  type        = string
  description = "The zone, chosen by the task where every INSTANCE_TYPES type is in stock now."
}

# Not passed by the task: change them in a copy of this config.

variable "vpc_cidr" {
  type    = string
  default = "10.0.0.0/16"
}

variable "allowed_cidr" {
  type        = string
  description = "Who may reach the director, the jumpbox and the BATs VMs from outside."
  default     = "0.0.0.0/0"
}
