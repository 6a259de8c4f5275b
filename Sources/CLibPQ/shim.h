#ifndef COORDINATOR_CLIBPQ_SHIM_H
#define COORDINATOR_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>
#endif
