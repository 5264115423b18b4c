/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_quarantine - quarantine and restore real files in a private temp
 * dir: identical bytes and metadata after a round trip, symlinks refused
 * anywhere in the path, a file changed between hashing and moving refused,
 * and the cross-filesystem copy path through a private tmpfs (root only).
 */
#include "quarantine.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];
static char state[128];

/* Set by a test to change the file while quarantine_file hashes it. */
static void (*during_hash)(void);

int __real_EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
int __wrap_EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
	if (during_hash) {
		void (*fn)(void) = during_hash;

		during_hash = NULL;
		fn();
	}
	return __real_EVP_DigestFinal_ex(ctx, md, s);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void setup(void)
{
	snprintf(base, sizeof(base), "/tmp/test_quarantine.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(state, sizeof(state), "%s/state", base);
	during_hash = NULL;
}

static void teardown(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	ck_assert_msg(fp != NULL, "cannot create %s: %s", path, strerror(errno));
	ck_assert_int_eq(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static void write_file(const char *path, const char *text)
{
	write_bytes(path, text, strlen(text));
}

static char *read_all(const char *path)
{
	static char buf[8192];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static size_t store_entries(void)
{
	json_t *list;
	size_t n;

	ck_assert_int_eq(quarantine_list(state, &list), 0);
	n = json_array_size(list);
	json_decref(list);
	return n;
}

/* Make a file with unusual metadata so a lossy restore shows. */
static void make_victim(const char *path, struct stat *st)
{
	struct timespec times[2] = {
		{ .tv_sec = 1000000000, .tv_nsec = 123456789 },
		{ .tv_sec = 1100000000, .tv_nsec = 987654321 },
	};

	write_bytes(path, "malicious\0payload\n", 18);
	ck_assert_int_eq(chmod(path, 04751), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(path, 1234, 5678), 0);
	/* chown dropped setuid: set the mode again, as restore does */
	ck_assert_int_eq(chmod(path, 04751), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(stat(path, st), 0);
}

static void assert_same_meta(const struct stat *a, const struct stat *b)
{
	ck_assert_msg((a->st_mode & 07777) == (b->st_mode & 07777),
		      "expected mode %o, saw %o", a->st_mode & 07777, b->st_mode & 07777);
	ck_assert_int_eq(a->st_uid, b->st_uid);
	ck_assert_int_eq(a->st_gid, b->st_gid);
	ck_assert_int_eq(a->st_size, b->st_size);
	ck_assert_msg(a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		      a->st_mtim.tv_nsec == b->st_mtim.tv_nsec,
		      "expected mtime %ld.%09ld, saw %ld.%09ld",
		      (long)a->st_mtim.tv_sec, a->st_mtim.tv_nsec,
		      (long)b->st_mtim.tv_sec, b->st_mtim.tv_nsec);
	ck_assert_int_eq(a->st_atim.tv_sec, b->st_atim.tv_sec);
	ck_assert_int_eq(a->st_atim.tv_nsec, b->st_atim.tv_nsec);
}

static void round_trip(const char *path)
{
	char id[QUARANTINE_ID_LEN], data[256], *content;
	struct stat before, after, qst;
	json_t *list, *rec;
	char orig[64];

	make_victim(path, &before);
	memcpy(orig, "malicious\0payload\n", 18);
	ck_assert_int_eq(quarantine_file(state, path, "alert-uuid-1", id), 0);
	ck_assert_msg(access(path, F_OK) != 0, "expected %s gone after quarantine", path);

	snprintf(data, sizeof(data), "%s/quarantine/%s.data", state, id);
	ck_assert_int_eq(stat(data, &qst), 0);
	ck_assert_msg((qst.st_mode & 07777) == 0600, "expected quarantined copy 0600, saw %o",
		      qst.st_mode & 07777);
	snprintf(data, sizeof(data), "%s/quarantine", state);
	ck_assert_int_eq(stat(data, &qst), 0);
	ck_assert_int_eq(qst.st_mode & 0777, 0700);

	ck_assert_int_eq(quarantine_list(state, &list), 0);
	ck_assert_int_eq(json_array_size(list), 1);
	rec = json_array_get(list, 0);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "id")), id);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "originalPath")), path);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "alertUuid")), "alert-uuid-1");
	ck_assert_str_eq(json_string_value(json_object_get(rec, "mode")), "4751");
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "size")), 18);
	/* sha256 of "malicious\0payload\n" */
	ck_assert_int_eq(strlen(json_string_value(json_object_get(rec, "sha256"))), 64);
	json_decref(list);

	ck_assert_int_eq(quarantine_restore(state, id, false), 0);
	ck_assert_int_eq(stat(path, &after), 0);
	assert_same_meta(&before, &after);
	content = read_all(path);
	ck_assert_ptr_nonnull(content);
	ck_assert_msg(memcmp(content, orig, 18) == 0, "restored bytes differ");
	ck_assert_int_eq(store_entries(), 0);
}

START_TEST(same_fs_round_trip)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/victim", base);
	round_trip(path);
}
END_TEST

START_TEST(symlink_last_component)
{
	char target[256], link[256], id[QUARANTINE_ID_LEN];

	snprintf(target, sizeof(target), "%s/real", base);
	snprintf(link, sizeof(link), "%s/link", base);
	write_file(target, "keep me");
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(quarantine_file(state, link, NULL, id), -ELOOP);
	ck_assert_int_eq(quarantine_delete_path(link), -ELOOP);
	ck_assert_str_eq(read_all(target), "keep me");
	ck_assert_int_eq(store_entries(), 0);
}
END_TEST

START_TEST(symlink_parent_component)
{
	char dir[256], link[256], file[256], via[256], id[QUARANTINE_ID_LEN];

	snprintf(dir, sizeof(dir), "%s/realdir", base);
	snprintf(link, sizeof(link), "%s/linkdir", base);
	snprintf(file, sizeof(file), "%s/realdir/f", base);
	snprintf(via, sizeof(via), "%s/linkdir/f", base);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_file(file, "keep me");
	ck_assert_int_eq(symlink(dir, link), 0);
	ck_assert_int_eq(quarantine_file(state, via, NULL, id), -ELOOP);
	ck_assert_int_eq(quarantine_delete_path(via), -ELOOP);
	ck_assert_str_eq(read_all(file), "keep me");
}
END_TEST

START_TEST(bad_paths)
{
	char id[QUARANTINE_ID_LEN], dotdot[256];

	snprintf(dotdot, sizeof(dotdot), "%s/../x", base);
	ck_assert_int_eq(quarantine_file(state, "relative/x", NULL, id), -EINVAL);
	ck_assert_int_eq(quarantine_file(state, dotdot, NULL, id), -EINVAL);
	ck_assert_int_eq(quarantine_file(state, base, NULL, id), -EINVAL);
	ck_assert_int_eq(quarantine_file(state, "/dev/null", NULL, id), -EINVAL);
	ck_assert_int_eq(quarantine_restore(state, "../../etc/passwd", false), -ENOENT);
}
END_TEST

static char victim[256];

static void append_to_victim(void)
{
	FILE *fp = fopen(victim, "a");

	fputs("more", fp);
	fclose(fp);
}

static void replace_victim(void)
{
	char other[300];

	snprintf(other, sizeof(other), "%s.other", victim);
	write_file(other, "original");	/* same size, another inode */
	rename(other, victim);
}

START_TEST(changed_while_hashing)
{
	char id[QUARANTINE_ID_LEN];

	snprintf(victim, sizeof(victim), "%s/victim", base);
	write_file(victim, "original");
	during_hash = append_to_victim;
	ck_assert_int_eq(quarantine_file(state, victim, NULL, id), -ESTALE);
	ck_assert_ptr_null(during_hash);
	ck_assert_str_eq(read_all(victim), "originalmore");
	ck_assert_int_eq(store_entries(), 0);
}
END_TEST

START_TEST(replaced_while_hashing)
{
	char id[QUARANTINE_ID_LEN];

	snprintf(victim, sizeof(victim), "%s/victim", base);
	write_file(victim, "original");
	during_hash = replace_victim;
	ck_assert_int_eq(quarantine_file(state, victim, NULL, id), -ESTALE);
	ck_assert_ptr_null(during_hash);
	ck_assert_str_eq(read_all(victim), "original");
	ck_assert_int_eq(store_entries(), 0);
}
END_TEST

START_TEST(restore_refuses_overwrite)
{
	char path[256], id[QUARANTINE_ID_LEN];

	snprintf(path, sizeof(path), "%s/victim", base);
	write_file(path, "first");
	ck_assert_int_eq(quarantine_file(state, path, NULL, id), 0);
	write_file(path, "second");
	ck_assert_int_eq(quarantine_restore(state, id, false), -EEXIST);
	ck_assert_str_eq(read_all(path), "second");
	ck_assert_int_eq(store_entries(), 1);
	ck_assert_int_eq(quarantine_restore(state, id, true), 0);
	ck_assert_str_eq(read_all(path), "first");
	ck_assert_int_eq(quarantine_restore(state, id, true), -ENOENT);
}
END_TEST

START_TEST(tampered_store_refused)
{
	char path[256], data[256], id[QUARANTINE_ID_LEN];

	snprintf(path, sizeof(path), "%s/victim", base);
	write_file(path, "first");
	ck_assert_int_eq(quarantine_file(state, path, NULL, id), 0);
	snprintf(data, sizeof(data), "%s/quarantine/%s.data", state, id);
	write_file(data, "FIRST");
	ck_assert_int_eq(quarantine_restore(state, id, false), -EBADMSG);
	ck_assert_msg(access(path, F_OK) != 0, "expected nothing restored");
}
END_TEST

START_TEST(delete_regular)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/victim", base);
	write_file(path, "x");
	ck_assert_int_eq(quarantine_delete_path(path), 0);
	ck_assert_msg(access(path, F_OK) != 0, "expected %s deleted", path);
	ck_assert_int_eq(quarantine_delete_path(path), -ENOENT);
}
END_TEST

START_TEST(cross_filesystem)
{
	char mnt[256], path[300];
	struct stat a, b;

	if (geteuid() != 0) {
		fprintf(stderr, "cross_filesystem: skipped (needs root for a tmpfs)\n");
		return;
	}
	/* Check forks each test: this mount namespace dies with the child. */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	ck_assert_int_eq(mount("tmpfs", mnt, "tmpfs", 0, "size=4m"), 0);
	snprintf(path, sizeof(path), "%s/victim", mnt);
	ck_assert_int_eq(stat(mnt, &a), 0);
	ck_assert_int_eq(stat(base, &b), 0);
	ck_assert_msg(a.st_dev != b.st_dev, "expected tmpfs on another device");
	round_trip(path);
	umount2(mnt, MNT_DETACH);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quarantine");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, same_fs_round_trip);
	tcase_add_test(tc, symlink_last_component);
	tcase_add_test(tc, symlink_parent_component);
	tcase_add_test(tc, bad_paths);
	tcase_add_test(tc, changed_while_hashing);
	tcase_add_test(tc, replaced_while_hashing);
	tcase_add_test(tc, restore_refuses_overwrite);
	tcase_add_test(tc, tampered_store_refused);
	tcase_add_test(tc, delete_regular);
	tcase_add_test(tc, cross_filesystem);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
