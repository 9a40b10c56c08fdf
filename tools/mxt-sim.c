/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt-sim.c - the simulator as a stand-alone tool (build/mxt-sim), the same
 * code as "mxthrottle sim": replays a CSV trace or a synthetic week through
 * the pattern-change model and prints what each population experienced.
 * See sim.h for the populations and the trace format.
 */
#include "sim.h"

/* Everything is in the library. */
int main(int argc, char **argv)
{
	return mxt_sim_main(argc, argv);
}
