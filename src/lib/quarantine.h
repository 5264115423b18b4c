/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quarantine - the quarantine store under STATE_DIR/quarantine/ and the
 * symlink-proof file operations that feed it (quarantine, delete, restore).
 *
 * A quarantined file is ID.data (the content, mode 0600, root) next to
 * ID.json (its record: original path, owner, group, mode, times, size,
 * sha256, the alert that caused it).  Paths are walked from / one
 * component at a time with O_NOFOLLOW, so a symbolic link anywhere in a
 * path is refused rather than followed.
 */
#ifndef SENSEON_QUARANTINE_H
#define SENSEON_QUARANTINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define QUARANTINE_ID_LEN	37	/* a uuid string and its NUL */

/*
 * Errors beyond the usual errno meanings (see quarantine_strerror):
 *   -ELOOP   a path component is a symbolic link
 *   -EINVAL  not an absolute, normalised path, or not a regular file
 *   -ESTALE  the file changed or was replaced while it was being handled
 *   -EEXIST  restore: something exists at the original path (use force)
 *   -EBADMSG the quarantined copy no longer matches its record
 */

/**
 * quarantine_file - move @path into the store.
 * @state_dir: STATE_DIR; quarantine/ below it is created 0700 if needed
 * @path: absolute path of a regular file; no component may be a symlink
 * @alert_uuid: the alert that asked for it, or NULL
 * @id: receives the new record's id (QUARANTINE_ID_LEN bytes)
 *
 * Same filesystem: renamed into the store; otherwise copied, fsync'd and
 * then unlinked.  Returns 0 or a negative errno (nothing is left behind
 * in the store on error).
 */
int quarantine_file(const char *state_dir, const char *path,
		    const char *alert_uuid, char id[QUARANTINE_ID_LEN]);

/**
 * quarantine_restore - put a quarantined file back where it came from,
 * with its content, owner, group, mode and times, and drop the record.
 * @state_dir: STATE_DIR
 * @id: the record id
 * @force: replace a regular file that now exists at the original path
 *
 * Returns 0 or a negative errno (-ENOENT: no such record).
 */
int quarantine_restore(const char *state_dir, const char *id, bool force);

/**
 * quarantine_list - every record in the store, oldest first.
 * @state_dir: STATE_DIR
 * @out: receives a new JSON array of record objects
 *
 * A missing store is an empty list.  Returns 0 or a negative errno.
 */
int quarantine_list(const char *state_dir, json_t **out);

/**
 * quarantine_delete_path - unlink the regular file at @path, refusing
 * symbolic links in any component as quarantine_file() does.
 *
 * Returns 0 or a negative errno.
 */
int quarantine_delete_path(const char *path);

/* quarantine_strerror - a short reason for an error from this module. */
const char *quarantine_strerror(int err);

#endif
