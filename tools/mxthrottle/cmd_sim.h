/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cmd_sim.h - the simulator's command line (cmd_sim.c), shared by
 * "mxthrottle sim", the stand-alone build/mxt-sim and the tests.
 */
#ifndef MXT_CMD_SIM_H
#define MXT_CMD_SIM_H

#ifndef MXT_SIM_STANDALONE
#include "cli.h"
#endif

/* "mxthrottle sim [--trace FILE | --synthetic | --scenario NAME|all]
 *  [--days N] [--seed S] [--warmup N] [--tick S] [--scale X]
 *  [--capacity N] [--start UNIX] [--set name=value]...
 *  [--kernel-set key=value]... [--json]": 0 ok, 1 error, 2 usage. */
int mxt_sim_main(int argc, char **argv);

#endif /* MXT_CMD_SIM_H */
