/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt-gen-conf-man.c - writes man/mxthrottle.conf.5 from the three key
 * tables (daemon_conf.c, cfgkeys.c, model_params.c), so the page cannot
 * drift from the code; tests/unit/test_docs.c checks that it has not.
 *   build/mxt-gen-conf-man > man/mxthrottle.conf.5
 */
#include <stdio.h>
#include <string.h>

#include "cfgkeys.h"
#include "daemon_conf.h"
#include "model_params.h"

static const char head[] =
	".\\\" SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)\n"
	".Dd November 28, 2026\n"
	".Dt MXTHROTTLE.CONF 5\n"
	".Os\n"
	".Sh NAME\n"
	".Nm mxthrottle.conf\n"
	".Nd configuration file of the mxthrottled daemon\n"
	".Sh DESCRIPTION\n"
	".Nm\n"
	"is read by\n"
	".Xr mxthrottled 8\n"
	"at start-up and on\n"
	".Dv SIGHUP .\n"
	"Each line is\n"
	".Dq Ar name No = Ar value ;\n"
	"lines starting with\n"
	".Ql #\n"
	"or\n"
	".Ql \\&;\n"
	"are comments, and so is the rest of a line after\n"
	".Ql \\&;\n"
	"preceded by a blank\n"
	".Po\n"
	".Ql #\n"
	"is not an inline comment: it becomes part of the value\n"
	".Pc .\n"
	"A line that starts with a blank continues the previous value.\n"
	"There are no sections.\n"
	"Unknown keys are errors, and every value is range-checked: the first error is\n"
	"reported as\n"
	".Dq Pa FILE : Ns Ar LINE : reason ,\n"
	".Nm mxthrottled Fl n\n"
	"prints it, and a reload with a bad file keeps the running configuration.\n"
	"Keys marked repeatable may appear several times.\n"
	".Pp\n"
	"The file decides who the daemon, started as root, runs as and where it\n"
	"writes: it must be a regular file owned by root and writable by root\n"
	"alone, in a directory owned by root and writable by root alone (or\n"
	"sticky), or\n"
	".Xr mxthrottled 8\n"
	"refuses it with an error naming the file (see SECURITY there).\n"
	".Pp\n"
	"Three groups of keys share the file: the daemon's own, the kernel's (also\n"
	"set at run time with\n"
	".Ic mxthrottle config set )\n"
	"and the pattern-change model's.\n"
	"Durations accept the suffixes\n"
	".Ql s ,\n"
	".Ql m ,\n"
	".Ql h\n"
	"and\n"
	".Ql d .\n"
	".Ss Daemon\n"
	".Bl -tag -width Ds\n";
static const char kernel_intro[] =
	".El\n"
	".Ss Kernel (XDP program)\n"
	"Rates are SYNs per minute, or\n"
	".Ql unlimited ;\n"
	"bursts are SYNs admitted back to back.\n"
	"A rate of 0 requires a burst of 0 and drops every SYN.\n"
	".Bl -tag -width Ds\n";
static const char model_intro[] =
	".El\n"
	".Ss Model\n"
	"See the top of\n"
	".Pa user/core/model.h\n"
	"for the states, the transitions and the formulas these tune.\n"
	".Bl -tag -width Ds\n";
static const char tail[] =
	".El\n"
	".Sh FILES\n"
	".Bl -tag -width Ds -compact\n"
	".It Pa /etc/mxthrottle/mxthrottle.conf\n"
	"the default location\n"
	".It Pa runtime.conf\n"
	"beside\n"
	".Cm state_db :\n"
	"kernel keys set with\n"
	".Ic mxthrottle config set\n"
	"while the daemon ran; read after this file, so they win over it.\n"
	"Written by the run user, so it may hold only the keys\n"
	".Ic config set\n"
	"takes (the kernel keys but\n"
	".Cm v4_prefix\n"
	"and\n"
	".Cm v6_prefix ) :\n"
	"any other line is refused with a\n"
	".Dq Pa FILE : Ns Ar LINE : reason\n"
	"warning and skipped\n"
	".El\n"
	".Sh EXAMPLES\n"
	"A gateway with one interface, in monitor mode while calibrating, with an\n"
	"on-premises relay as a connector:\n"
	".Bd -literal -offset indent\n"
	"interface = eth0\n"
	"mode = monitor\n"
	"allow = 203.0.113.0/24\n"
	"allow = 2001:db8:25::/48\n"
	"policy_listen = unix:/var/spool/postfix/private/mxthrottle\n"
	"checkpoint_interval = 30\n"
	"probation_schedule = 20,100,500\n"
	".Ed\n"
	".Sh SEE ALSO\n"
	".Xr mxthrottle 8 ,\n"
	".Xr mxthrottled 8\n";

/* One description line, escaped for mdoc (leading dot, backslash). */
static void text(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else
			putchar(*s);
	}
}

int main(void)
{
	const struct mxt_model_param *t;
	size_t n;

	fputs(head, stdout);
	for (size_t i = 0; i < mxt_daemon_key_count(); i++) {
		const struct mxt_daemon_key *k = mxt_daemon_key_at(i);

		printf(".It Cm %s Pq default: Ql %s\n", k->name, k->defval);
		text(k->desc);
		fputs(".\n", stdout);
	}
	fputs(kernel_intro, stdout);
	for (size_t i = 0; i < mxt_cfgkey_count(); i++) {
		const struct mxt_cfgkey *k = mxt_cfgkey_at(i);

		printf(".It Cm %s Pq default: Ql %s\n", k->name, k->defval);
		text(k->desc);
		fputs(".\n", stdout);
	}
	fputs(model_intro, stdout);
	t = mxt_model_param_table(&n);
	for (size_t i = 0; i < n; i++) {
		/* Durations carry their unit in the value ("30m"). */
		int unit = t[i].unit[0] && t[i].type != MXT_PT_DURATION;

		printf(".It Cm %s Pq default: Ql %s%s%s\n", t[i].name, t[i].defval,
		       unit ? " " : "", unit ? t[i].unit : "");
		text(t[i].desc);
		printf(" (%s, %g..%g).\n", mxt_param_type_name(t[i].type), t[i].min, t[i].max);
	}
	fputs(tail, stdout);
	return 0;
}
