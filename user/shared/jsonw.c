// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * jsonw.c - the streaming JSON writer.  Strings are escaped per RFC 8259:
 * '"' and '\\' and every control character below 0x20 (as \n, \t, ... or
 * \u00XX); bytes >= 0x80 pass through (our strings are ASCII or UTF-8).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include "jsonw.h"

void mxt_jw_init(struct mxt_jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->first[0] = 1;
	w->after_key = 0;
	w->err = 0;
}

void mxt_jw_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; p && *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Comma before a value or key when one came before at this depth. */
static void sep(struct mxt_jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = 0;
}

/* Open a container with character c. */
static void open_c(struct mxt_jw *w, char c)
{
	sep(w);
	if (w->depth + 1 >= MXT_JW_DEPTH) {
		w->err = -EINVAL;
		return;
	}
	fputc(c, w->f);
	w->first[++w->depth] = 1;
}

/* Close a container with character c. */
static void close_c(struct mxt_jw *w, char c)
{
	if (w->depth == 0 || w->after_key) {
		w->err = -EINVAL;
		return;
	}
	w->depth--;
	fputc(c, w->f);
}

void mxt_jw_obj_open(struct mxt_jw *w) { open_c(w, '{'); }
void mxt_jw_obj_close(struct mxt_jw *w) { close_c(w, '}'); }
void mxt_jw_arr_open(struct mxt_jw *w) { open_c(w, '['); }
void mxt_jw_arr_close(struct mxt_jw *w) { close_c(w, ']'); }

void mxt_jw_key(struct mxt_jw *w, const char *key)
{
	if (w->after_key)
		w->err = -EINVAL;
	sep(w);
	mxt_jw_escape(w->f, key);
	fputc(':', w->f);
	w->after_key = 1;
}

void mxt_jw_str(struct mxt_jw *w, const char *s)
{
	sep(w);
	mxt_jw_escape(w->f, s ? s : "");
}

void mxt_jw_u64(struct mxt_jw *w, uint64_t v)
{
	sep(w);
	fprintf(w->f, "%" PRIu64, v);
}

void mxt_jw_i64(struct mxt_jw *w, int64_t v)
{
	sep(w);
	fprintf(w->f, "%" PRId64, v);
}

void mxt_jw_double(struct mxt_jw *w, double v, int prec)
{
	sep(w);
	if (!isfinite(v))
		fputs("null", w->f);
	else
		fprintf(w->f, "%.*f", prec, v);
}

void mxt_jw_bool(struct mxt_jw *w, int v)
{
	sep(w);
	fputs(v ? "true" : "false", w->f);
}

void mxt_jw_null(struct mxt_jw *w)
{
	sep(w);
	fputs("null", w->f);
}

void mxt_jw_kstr(struct mxt_jw *w, const char *key, const char *s)
{
	mxt_jw_key(w, key);
	mxt_jw_str(w, s);
}

void mxt_jw_ku64(struct mxt_jw *w, const char *key, uint64_t v)
{
	mxt_jw_key(w, key);
	mxt_jw_u64(w, v);
}

void mxt_jw_ki64(struct mxt_jw *w, const char *key, int64_t v)
{
	mxt_jw_key(w, key);
	mxt_jw_i64(w, v);
}

void mxt_jw_kbool(struct mxt_jw *w, const char *key, int v)
{
	mxt_jw_key(w, key);
	mxt_jw_bool(w, v);
}

int mxt_jw_finish(struct mxt_jw *w)
{
	if (w->depth != 0 && !w->err)
		w->err = -EINVAL;
	fputc('\n', w->f);
	if (fflush(w->f) != 0 && !w->err)
		w->err = -EIO;
	return w->err;
}
