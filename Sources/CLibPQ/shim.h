#ifndef COORDINATOR_CLIBPQ_SHIM_H
#define COORDINATOR_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>
#include <spawn.h>

/* glibc 2.34+ declares this only under _GNU_SOURCE, which the Glibc module is built without.
   `ChildProcess` uses it so that a child inherits no descriptor above standard error. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
#endif
