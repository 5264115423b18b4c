/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform_cmds - control commands first needed by the platform channel
 * (file.upload, file.download, policy.update; docs/protocol.md), served
 * by the common dispatcher for every transport.
 */
#ifndef SENSEON_PLATFORM_CMDS_H
#define SENSEON_PLATFORM_CMDS_H

/* platform_cmds_init - register the commands; before control_start(). */
int platform_cmds_init(void);

#endif
