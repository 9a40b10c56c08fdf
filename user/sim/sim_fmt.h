/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_fmt.h - what the simulator's two printers (sim_print.c, the run's
 * table; sim_fleet_print.c, the fleet beside one host) format alike: a
 * figure that may be absent, printed as "-" in a table.
 */
#ifndef MXT_SIM_FMT_H
#define MXT_SIM_FMT_H

#include <stdio.h>

/* v with prec decimals and 'unit' after it, or "-" when v is negative
 * (the results' "none"); returns buf. */
static inline const char *sim_or_dash(char *buf, size_t len, double v, int prec, const char *unit)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f%s", prec, v, unit);
	return buf;
}

#endif /* MXT_SIM_FMT_H */
