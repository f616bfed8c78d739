/* Readiness notification for service managers (systemd `Type=notify`): a datagram to the
 * socket named by $NOTIFY_SOCKET. Without that variable every call does nothing, so the
 * binary behaves the same outside systemd. No libsystemd dependency. */
#ifndef PG_TELEMETRY_SD_NOTIFY_H
#define PG_TELEMETRY_SD_NOTIFY_H

/* Sends `state` (e.g. "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...") to the service
 * manager. Borrows `state`. Returns 1 when sent, 0 when no manager listens ($NOTIFY_SOCKET
 * unset), or a negative status (PG_EIO) when the socket cannot be reached. */
int pg_sd_notify(const char *state);

#endif
