/* Private between host.c and host_share.c: the head of the host's shared-object list. */
#ifndef PG_HOST_INT_H
#define PG_HOST_INT_H

#include "pipeline/host.h"

typedef struct pg_host_shared pg_host_shared;

/* The address of h's list head (owned by host.c, guarded by host_share.c's lock). */
pg_host_shared **pg_host_shared_list(pg_host *h);

/* Drops every entry still listed (pg_host_free). */
void pg_host_shared_free_all(pg_host *h);

#endif
