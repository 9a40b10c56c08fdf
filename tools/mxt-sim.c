/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt-sim.c - the simulator as a stand-alone tool (build/mxt-sim), the same
 * code as "mxthrottle sim" (mxthrottle/cmd_sim.c, included: the tools are
 * built from one source file each).
 */
#define MXT_SIM_STANDALONE 1
#include "mxthrottle/cmd_sim.c"

int main(int argc, char **argv)
{
	return mxt_sim_main(argc, argv);
}
