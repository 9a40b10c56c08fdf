/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_int.h - what the simulator's files share (not an API): the event
 * heap, the simulated sources, the run state, the deterministic random
 * numbers, and the engine's entry points used by the synthetic week
 * (sim.c), the scenarios (sim_scen.c), the trace replay (sim_trace.c) and
 * the fleet's nodes (sim_fleet.c).
 */
#ifndef MXT_SIM_INT_H
#define MXT_SIM_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "rng.h"
#include "sim_kmap.h"

#define SIM_HOUR 3600.0
#define SIM_DAY 86400.0
#define SIM_SYN_BATCH 1024 /* SYN observations per model call */

enum { EV_GEN = 0, EV_RETRY, EV_FLOOD, EV_ONE };

/* One pending event. */
struct sim_ev {
	double t;
	uint64_t seq;
	double birth;        /* message birth (retries) */
	uint32_t src;
	uint8_t kind;        /* EV_*; EV_ONE: a message that schedules no successor */
	uint8_t spam;        /* a spam message (never retried) */
	uint8_t jump;        /* made by the source's jump generator */
	uint16_t tries;
	uint16_t rcpts;      /* recipients still to deliver */
};

struct sim_heap {
	struct sim_ev *ev;
	size_t n, cap;
	uint64_t seq;
};

/* Push (0 or -ENOMEM) and pop the earliest (time, then push order). */
int sim_heap_push(struct sim_heap *h, struct sim_ev e);
struct sim_ev sim_heap_pop(struct sim_heap *h);
void sim_heap_free(struct sim_heap *h);

/* Rate shapes of a source (sim.c rate_at()). */
enum {
	SH_POP = 0,   /* by population: the synthetic week's shapes */
	SH_BIZ,       /* peak x business-day shape, weekend factor, growth per day */
	SH_WEEKLY,    /* 'peak' 08-18 on weekdays, peak/10 otherwise, 10x Monday 09-11 */
	SH_CLUSTER,   /* business-day shape of clusters of sessions (a NAT) */
	SH_NONE,      /* only the events pushed at set-up */
};

/* One simulated source. */
struct sim_src {
	struct mxt_key key;
	uint8_t pop;
	uint8_t shape;       /* SH_* */
	uint8_t retries;     /* its legitimate mail is retried (an MTA) */
	uint8_t reached;     /* bit per state seen in decisions */
	double peak;         /* sessions/h at its peak */
	double weekend;      /* weekend factor */
	double growth;       /* SH_BIZ: rate x (1 + growth)^days since 'from' */
	double cluster;      /* SH_CLUSTER: mean sessions per cluster */
	double from, to;     /* active window */
	double gap_from, gap_to; /* silent in between (gap_to 0: none) */
	double jump_at, jump_to, jump_mult; /* compromised: spam window */
	uint8_t jump_legit;  /* the jump is legitimate mail (retried), not spam */
	uint16_t spam_rcpts; /* recipients of its spam (0: drawn like its mail) */
	uint8_t lost;        /* seen GRAYLISTED after ESTABLISHED */
	double regained_at;  /* ESTABLISHED again after 'lost' (-1: not) */
	double rcpt_mean;
	uint32_t prob_hour;  /* clock hour of prob_n */
	uint32_t prob_n;     /* sessions admitted on probation in it (fleet-wide) */
	double first_attempt;
	double established_at;
	double throttled_at;
	double thr_since;    /* THROTTLED/BLOCKED in the kernel since (-1: not) */
	double thr_total;    /* s throttled or blocked within the measured days */
	uint32_t throttles;  /* times it entered THROTTLED in the measured days */
	uint64_t rng;
};

/* One event a node's policy service counted, for the other nodes. */
struct sim_seen {
	struct mxt_key key;
	uint32_t hour;       /* clock hour it happened in */
	uint16_t n;          /* recipients (RCPT kinds) */
	uint8_t what;        /* enum mxt_fleet_cnt_idx */
};

struct sim;

/* One host: its model, its kernel's maps, what it saw this tick. */
struct sim_node {
	struct sim *s;
	struct mxt_sim_node_result *r;
	struct mxt_model *m;
	struct sim_kmap pol, ksrc, delta; /* policy, kernel sources, SYN deltas */
	__u64 global_tat;
	struct sim_seen *seen;  /* this tick's events (fleet runs only) */
	size_t nseen, capseen;
	uint64_t spoof_promoted;
	double jump_thr_at;     /* s from a jump to THROTTLED in its kernel (-1: not) */
};

struct sim {
	const struct mxt_sim_config *c;
	struct mxt_sim_result *r;
	struct sim_node node[MXT_SIM_FLEET_MAX];
	unsigned nodes;
	uint64_t node_rng;   /* draws the node of each attempt (fleet runs) */
	struct sim_kmap idx; /* key -> src */
	struct mxt_limit cls[MXT_CLASS_MAX], global;
	struct sim_src *src;
	size_t nsrc, capsrc;
	struct sim_heap heap;
	double warm_start, start, end;
	double now;          /* time of the tick being run */
	double flood_from, flood_to;
	uint32_t flood_rate;
	uint64_t flood_rng;
	uint8_t spoof_seen[65536 / 8]; /* distinct spoofed addresses */
	struct mxt_syn_obs batch[SIM_SYN_BATCH]; /* SYN deltas handed to the model */
};

/* Uniform in [lo, hi). */
static inline double sim_rng_range(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * mxt_rng_unit(s);
}

/* 1 on Saturday and Sunday (UTC). */
static inline int sim_weekend_at(double t)
{
	long long d = (long long)floor(t / SIM_DAY);
	int dow = (int)(((d + 4) % 7 + 7) % 7);

	return dow == 0 || dow == 6;
}

/* Keys: a.b.c.d/32 and 2001:2:0:N::/64 (N < 65536). */
struct mxt_key sim_key_v4(unsigned a, unsigned b, unsigned c, unsigned d);
struct mxt_key sim_key_v6(unsigned n);
/* Add a source of population 'pop' (NULL: out of memory). */
struct sim_src *sim_add_src(struct sim *s, enum mxt_sim_pop pop, const struct mxt_key *k);
/* Schedule the next message of source i's generator (its jump generator
 * when 'jump') after t. */
int sim_schedule_gen(struct sim *s, uint32_t i, double t, int jump);
/* Push one message of source i at t that schedules no successor. */
int sim_push_one(struct sim *s, uint32_t i, double t);
/* One attempt of event e (a SYN, then CONNECT and one RCPT per recipient;
 * SYN only when syn_only): counts it, retries or expires it. */
int sim_attempt(struct sim *s, struct sim_ev *e, int syn_only);
/* One SYN from 'key' at t through node n's software kernel (sim_kernel.c):
 * 1 passed, 0 dropped; counted for the next tick. */
int sim_kernel_syn(struct sim *s, struct sim_node *n, const struct mxt_key *key, double t);
/* The most SYNs one host's global budget g admits from idle over secs of
 * a flood that outpaces it (UINT64_MAX: unlimited). */
uint64_t sim_kernel_budget_most(const struct mxt_limit *g, double secs);
/* The model tick callback of node ctx: its policy map (sim.c). */
void sim_on_change(void *ctx, const struct mxt_model_change *c);

/* The fleet (sim_fleet.c).  Set up c->fleet nodes (models, kernel maps):
 * 0 or -ENOMEM; free them (a partly set up fleet too). */
int sim_nodes_init(struct sim *s);
void sim_nodes_free(struct sim *s);
/* The node an attempt reaches: drawn uniformly (node 0 alone). */
struct sim_node *sim_pick_node(struct sim *s);
/* Note an event node n's policy service counted, for the other nodes:
 * 'what' an enum mxt_fleet_cnt_idx.  0 or -ENOMEM. */
int sim_fleet_note(struct sim_node *n, const struct mxt_key *key, double t, int what, uint32_t cnt);
/* At tick t: every node's model gets the others' events of the tick. */
void sim_fleet_replay(struct sim *s, double t);
/* Release a source with history on every node (shared records). */
int sim_release_all(struct sim *s, const struct mxt_key *k, uint64_t t);
/* Each node's figures at the end. */
void sim_fleet_finish(struct sim *s);
/* The daemon's tick at t: SYN deltas into the model, then its transitions. */
void sim_do_tick(struct sim *s, double t);
/* Run the event loop to s->end. */
int sim_run_loop(struct sim *s);
/* Build the scenario c->scenario (sim_scen.c). */
int sim_setup_scenario(struct sim *s);
/* Judge the scenario's numbers against its targets (sim_scen.c). */
void sim_scenario_judge(struct sim *s);
/* Read and replay the CSV trace c->trace (sim_trace.c). */
int sim_run_trace(struct sim *s, char *err, size_t errlen);

#endif /* MXT_SIM_INT_H */
