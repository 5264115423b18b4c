/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_transfer - `senseonctl upload PATH [-o DIR]` and
 * `senseonctl download SRC DEST`: file transfers with this host.
 *
 * Overview: owns nothing but the two built-in scripts.  Each transfer is
 * an ordinary script run (ctl_run_script, cmd_run.c), so it goes through
 * the same daemon path as an analyst's senseon.upload()/download(): the
 * same checks, the same audit records, the same sha256 verification.
 */
#include "commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char upload_code[] =
	"import senseon, sys\n"
	"senseon.upload(sys.argv[1])\n";

/* argv: DEST MODE OVERWRITE */
static const char download_code[] =
	"import senseon, sys\n"
	"r = senseon.download('file', sys.argv[1], mode=int(sys.argv[2], 8),\n"
	"                     overwrite=sys.argv[3] == '1')\n"
	"print('wrote %s (%d bytes, sha256 %s)' % (r['path'], r['size'], r['sha256']))\n";

int cmd_upload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_run_opts o = { .code = upload_code, .name = "<upload>", .timeout = 3600 };
	int c;

	while ((c = getopt_long(argc, argv, "o:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.outdir = optarg; break;
		case 't': o.timeout = strtod(optarg, NULL); break;
		case 'h':
			printf("Usage: senseonctl upload PATH [-o DIR] [-t SECONDS]\n"
			       "Copy PATH from this host into DIR (default .), sha256 checked.\n");
			return CTL_EXIT_OK;
		default: return CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "Usage: senseonctl upload PATH [-o DIR]\n");
		return CTL_EXIT_USAGE;
	}
	o.args = argv + optind;
	o.nargs = 1;
	o.quiet = true;
	return ctl_run_script(&o);
}

int cmd_download(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_run_opts o = { .code = download_code, .name = "<download>", .timeout = 3600 };
	char *args[3], mode[16] = "600", force[2] = "0";
	int c;

	while ((c = getopt_long(argc, argv, "m:ft:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': snprintf(mode, sizeof(mode), "%s", optarg); break;
		case 'f': force[0] = '1'; break;
		case 't': o.timeout = strtod(optarg, NULL); break;
		case 'h':
			printf("Usage: senseonctl download [--mode OCTAL] [--force] SRC DEST\n"
			       "Write the local file SRC to DEST on this host, atomically; an\n"
			       "existing DEST is replaced only with --force, a symlink never.\n");
			return CTL_EXIT_OK;
		default: return CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "Usage: senseonctl download [--mode OCTAL] [--force] SRC DEST\n");
		return CTL_EXIT_USAGE;
	}
	o.puts[0].name = "file";
	o.puts[0].path = argv[optind];
	o.nputs = 1;
	args[0] = argv[optind + 1];
	args[1] = mode;
	args[2] = force;
	o.args = args;
	o.nargs = 3;
	return ctl_run_script(&o);
}
