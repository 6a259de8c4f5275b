# Example template "file": one file per running workspace, created on start and removed on stop
# and delete; it costs 1 a day while it exists. Offline: only Terraform's builtin
# `terraform_data` resource and `local-exec` provisioner, no provider to download.
# See docs/provisioners.md.

# The workspace, as the daemon passes it (TF_VAR_…).
variable "coder_workspace_transition" {
  type        = string
  description = "start, stop or delete"
}

variable "coder_workspace_start_count" {
  type        = number
  description = "1 on start, 0 on stop and delete"
}

# Empty for an import (it has no workspace) and from a coordinator that does not send the
# workspace: nothing below needs them.
variable "coder_workspace_name" {
  type    = string
  default = ""
}

variable "coder_workspace_id" {
  type    = string
  default = ""
}

variable "coder_workspace_owner" {
  type    = string
  default = ""
}

variable "coder_workspace_owner_email" {
  type    = string
  default = ""
}

# A template variable: give it with the version (`user_variable_values`), or take the default.
variable "directory" {
  type        = string
  default     = "/tmp/coordinator-workspaces"
  description = "Where the workspaces' files are created"
}

# The file is named by the workspace's id, or, where that is empty, by the id of this resource:
# no count, so it is created by the first build, kept by stop and start (the state carries it from
# build to build) and destroyed by delete; its id is a random UUID fixed at creation. A workspace
# name would not do: names are unique per owner, not per deployment.
resource "terraform_data" "identity" {}

locals {
  key  = coalesce(var.coder_workspace_id, terraform_data.identity.id)
  path = "${var.directory}/${local.key}.txt"
}

resource "terraform_data" "workspace" {
  count = var.coder_workspace_start_count

  # A new path (the workspace's id where it was empty before) replaces the file: the old one is
  # removed.
  triggers_replace = [local.path]

  # A destroy-time provisioner may refer only to self: what it needs is kept in `input`.
  input = {
    path = local.path
  }

  provisioner "local-exec" {
    command = <<-EOT
      set -eu
      mkdir -p "$(dirname "$WS_FILE")"
      printf 'transition=%s\nid=%s\nname=%s\nowner=%s\nowner_email=%s\n' \
        "$WS_TRANSITION" "$WS_ID" "$WS_NAME" "$WS_OWNER" "$WS_OWNER_EMAIL" > "$WS_FILE"
      echo "created $WS_FILE"
    EOT
    environment = {
      WS_FILE        = local.path
      WS_TRANSITION  = var.coder_workspace_transition
      WS_ID          = var.coder_workspace_id
      WS_NAME        = var.coder_workspace_name
      WS_OWNER       = var.coder_workspace_owner
      WS_OWNER_EMAIL = var.coder_workspace_owner_email
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "rm -f \"$WS_FILE\"; echo \"removed $WS_FILE\""
    environment = {
      WS_FILE = self.input.path
    }
  }
}

# Daily costs: resource address => whole number. Built from the resource itself, so its keys are
# the planned instances' addresses (`terraform_data.workspace[0]` on start, none on stop) and it
# is known at plan time. The identity costs nothing: it is not listed.
output "coder_daily_costs" {
  value = { for i, w in terraform_data.workspace : "terraform_data.workspace[${i}]" => 1 }
}

output "workspace_file" {
  value = var.coder_workspace_start_count > 0 ? local.path : ""
}
