/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * jsonw.h - a tiny streaming JSON writer for the CLI's --json outputs:
 * objects, arrays, strings (escaped per RFC 8259), integers, booleans and
 * null.  Commas are placed automatically; nesting is tracked up to
 * MXT_JW_DEPTH levels.  Output is compact, one document per line.
 */
#ifndef MXT_JSONW_H
#define MXT_JSONW_H

#include <stdio.h>
#include <stdint.h>

#define MXT_JW_DEPTH 16

/* Writer state. */
struct mxt_jw {
	FILE *f;
	int depth;
	int first[MXT_JW_DEPTH]; /* no element written yet at this depth */
	int after_key;           /* a key was written; its value comes next */
	int err;                 /* first error (-EINVAL for misuse) */
};

/* Start a writer on f. */
void mxt_jw_init(struct mxt_jw *w, FILE *f);
/* Finish: newline after the document; returns 0 or the first error. */
int mxt_jw_finish(struct mxt_jw *w);

void mxt_jw_obj_open(struct mxt_jw *w);
void mxt_jw_obj_close(struct mxt_jw *w);
void mxt_jw_arr_open(struct mxt_jw *w);
void mxt_jw_arr_close(struct mxt_jw *w);
/* Object member name; the next value call writes its value. */
void mxt_jw_key(struct mxt_jw *w, const char *key);

void mxt_jw_str(struct mxt_jw *w, const char *s);
void mxt_jw_u64(struct mxt_jw *w, uint64_t v);
void mxt_jw_i64(struct mxt_jw *w, int64_t v);
/* A finite double with 'prec' decimals (NaN/inf are written as null). */
void mxt_jw_double(struct mxt_jw *w, double v, int prec);
void mxt_jw_bool(struct mxt_jw *w, int v);
void mxt_jw_null(struct mxt_jw *w);

/* key + value shorthands. */
void mxt_jw_kstr(struct mxt_jw *w, const char *key, const char *s);
void mxt_jw_ku64(struct mxt_jw *w, const char *key, uint64_t v);
void mxt_jw_ki64(struct mxt_jw *w, const char *key, int64_t v);
void mxt_jw_kbool(struct mxt_jw *w, const char *key, int v);

/* Write s as a JSON string literal (with quotes) to f. */
void mxt_jw_escape(FILE *f, const char *s);

#endif /* MXT_JSONW_H */
