/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * true - the smallest program the exec storm can run.
 *
 * Overview: owns nothing.  Built static so each exec costs the kernel's
 * exec path and not the dynamic loader, which is what a monitor of execs
 * slows down.  argv is ignored: it only carries the run's marker so the
 * monitors' output can be matched to this workload.
 */
int main(void)
{
	return 0;
}
