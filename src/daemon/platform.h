/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform - the channel to the analysis platform: a mutual-TLS WebSocket
 * the sensor opens (libwebsockets + OpenSSL), carrying alerts and results
 * out through the durable outbox and analyst commands in through the
 * control dispatcher (docs/protocol.md).
 */
#ifndef SENSEON_PLATFORM_H
#define SENSEON_PLATFORM_H

struct sensor;

/*
 * platform_init - open the outbox and the ledger (STATE_DIR/spool,
 * STATE_DIR/ledger.jsonl), register the platform's commands and its
 * status section.  Call before control_start().  Without platform_url
 * nothing is opened and 0 is returned.  0 or -errno.
 */
int platform_init(struct sensor *s);

/*
 * platform_start - start the client thread (connect, reconnect with
 * backoff).  Call after capabilities were dropped.  0 or -errno.
 */
int platform_start(struct sensor *s);

/* platform_stop - close the connection, end the thread and running
 * commands' transports, close the outbox and the ledger. */
void platform_stop(struct sensor *s);

/*
 * platform_publish_alert - append one alert (a compact JSON object line)
 * to the outbox.  Alerts are committed in groups: the entry is written
 * at once (it survives SIGKILL) and flushed to disk, and offered to the
 * platform, by platform_flush(), at the latest after 256 alerts or 5 ms.
 * A no-op without a platform.  Called by the alert sink on the main loop.
 */
void platform_publish_alert(const char *line);

/*
 * platform_flush - one fdatasync for every alert queued since the last
 * flush, then wake the sender.  Called by the sink before the main loop
 * goes back to poll (sink_flush()).
 */
void platform_flush(void);

#endif
