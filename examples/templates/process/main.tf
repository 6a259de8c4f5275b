# Example template "process": a long-lived local process per running workspace, started on start
# and stopped on stop, with a directory of its own that stop keeps and delete removes. Offline:
# only Terraform's builtin `terraform_data` resource and `local-exec` provisioner.
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

# Template variables: give them with the version (`user_variable_values`), or take the defaults.
variable "directory" {
  type        = string
  default     = "/tmp/coordinator-workspaces"
  description = "Where each workspace gets its directory"
}

variable "command" {
  type        = string
  default     = "while true; do date; sleep 10; done"
  description = "The workspace's process: a shell command, run with sh -c"
}

# The directory is named by the workspace's id, or, where that is empty, by the id of this
# resource: a random UUID fixed when the first build creates it, kept by stop and start, destroyed
# by delete. (A workspace name would not do: names are unique per owner only.)
resource "terraform_data" "identity" {}

locals {
  dir = "${var.directory}/${coalesce(var.coder_workspace_id, terraform_data.identity.id)}"
}

# The workspace's directory (its "home volume"): no count, so a stop keeps it, with the process's
# log; delete removes it.
resource "terraform_data" "home" {
  triggers_replace = [local.dir]
  input = {
    dir = local.dir
  }

  provisioner "local-exec" {
    command = "mkdir -p \"$DIR\" && echo \"created $DIR\""
    environment = {
      DIR = local.dir
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "rm -rf \"$DIR\" && echo \"removed $DIR\""
    environment = {
      DIR = self.input.dir
    }
  }
}

resource "terraform_data" "process" {
  count = var.coder_workspace_start_count

  triggers_replace = [terraform_data.home.output.dir, var.command]
  input = {
    dir = terraform_data.home.output.dir
  }

  # The process must outlive the job, so:
  #  - `setsid`: its own session and process group. The daemon ends Terraform's process group when
  #    the command ends (and sends it SIGINT on cancel); a process left in it would die then.
  #  - `</dev/null >…log 2>&1`: no descriptor of local-exec's output pipe. Terraform waits for
  #    that pipe's end, so a process holding it would keep the apply running until the job's timeout.
  #  - `cd` and HOME, TMPDIR of its own: the job's directory, HOME and TMPDIR are removed when the
  #    job ends.
  # In a non-interactive sh the background job is not a group leader, so setsid does not fork and
  # `$!` is the process's pid, which is also its process group's id.
  provisioner "local-exec" {
    command = <<-EOT
      set -eu
      if [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
        echo "already running: pid $(cat "$DIR/pid")"
        exit 0
      fi
      cd "$DIR"
      HOME="$DIR" TMPDIR=/tmp setsid nohup sh -c "$CMD" </dev/null >>"$DIR/log" 2>&1 &
      echo $! > "$DIR/pid"
      echo "started pid $(cat "$DIR/pid"), output in $DIR/log"
    EOT
    environment = {
      DIR = terraform_data.home.output.dir
      CMD = var.command
    }
  }

  # Stop (start count 0) and delete: SIGTERM to the process's group, SIGKILL after 5 s.
  provisioner "local-exec" {
    when    = destroy
    command = <<-EOT
      if [ ! -f "$DIR/pid" ]; then
        echo "no pid file in $DIR"
        exit 0
      fi
      pid=$(cat "$DIR/pid")
      if kill -TERM "-$pid" 2>/dev/null; then
        i=0
        while kill -0 "-$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
        kill -KILL "-$pid" 2>/dev/null || true
        echo "stopped pid $pid"
      else
        echo "pid $pid was not running"
      fi
      rm -f "$DIR/pid"
    EOT
    environment = {
      DIR = self.input.dir
    }
  }
}

# Daily costs by resource, without the instance key: every planned instance of
# `terraform_data.process` costs 2 (none on stop), the directory 1 while it exists. So a start
# commits 3 and a stop 1 (what the stopped workspace keeps).
output "coder_daily_costs" {
  value = {
    "terraform_data.home"    = 1
    "terraform_data.process" = 2
  }
}
