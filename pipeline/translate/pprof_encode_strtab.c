/* The pprof string table built by the encoder. */
#include "pipeline/translate/pprof_encode_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

typedef struct probe {
    const char *s;
    size_t n;
} probe;

static int eq(const void *ctx, const void *k, uint32_t id)
{
    const pg_strtab *t = ctx;
    const probe *p = k;
    return t->len[id] == p->n && memcmp(t->s[id], p->s, p->n) == 0;
}

/* Prepares an empty table holding "" at index 0; t owns its arrays. */
int pg_strtab_init(pg_strtab *t, size_t n_dict)
{
    memset(t, 0, sizeof *t);
    t->n_dict = n_dict ? n_dict : 1;
    t->from_dict = calloc(t->n_dict, sizeof *t->from_dict);
    if (!t->from_dict) return t->failed = PG_ENOMEM;
    int64_t r = pg_strtab_add(t, "", 0, 0);
    return r < 0 ? (int)r : 0;
}

/* Frees the table and every copy it owns. */
void pg_strtab_free(pg_strtab *t)
{
    for (size_t i = 0; i < t->n_owned; i++)
        free(t->owned[i]);
    free(t->owned);
    free(t->s);
    free(t->len);
    free(t->from_dict);
    pg_index_free(&t->set);
    memset(t, 0, sizeof *t);
}

/* Latches the first failure in t->failed and returns it. */
static int64_t fail(pg_strtab *t, int rc)
{
    if (!t->failed) t->failed = rc;
    return rc;
}

/* Interns s[0..n); borrowed unless copy. */
int64_t pg_strtab_add(pg_strtab *t, const char *s, size_t n, int copy)
{
    if (!t->from_dict) return fail(t, PG_EINTERNAL); /* sealed */
    probe p = {s, n};
    uint64_t h = pg_hash_bytes(s, n, 11);
    uint32_t id = pg_index_find(&t->set, h, eq, t, &p);
    if (id != UINT32_MAX) return id;
    int rc;
    if (t->n == t->cap) {
        size_t cap_s = t->cap; /* s and len share t->cap */
        if ((rc = PG_VEC_RESERVE(t->s, cap_s, t->n + 1, 256)) ||
            (rc = PG_VEC_RESERVE(t->len, t->cap, t->n + 1, 256)))
            return fail(t, rc);
    }
    if (copy) {
        if ((rc = PG_VEC_RESERVE(t->owned, t->cap_owned, t->n_owned + 1, 16))) return fail(t, rc);
        char *c = malloc(n + 1);
        if (!c) return fail(t, PG_ENOMEM);
        memcpy(c, s, n);
        c[n] = 0;
        t->owned[t->n_owned++] = c;
        s = c;
    }
    t->s[t->n] = s;
    t->len[t->n] = n;
    if ((rc = pg_index_insert(&t->set, h, (uint32_t)t->n))) return fail(t, rc);
    return (int64_t)t->n++;
}

/* Interns dictionary string i (borrowed from the batch). */
int64_t pg_strtab_dict(pg_strtab *t, const pg_otlp_dict *d, int32_t i)
{
    if (i == 0) return 0;
    if (!t->from_dict) return fail(t, PG_EINTERNAL); /* sealed */
    if (t->from_dict[i]) return t->from_dict[i];
    const char *s = d->string_table[i];
    int64_t r = pg_strtab_add(t, s, strlen(s), 0);
    if (r > 0) t->from_dict[i] = r;
    return r;
}

/* Frees the index and the dictionary map through pg_pages_free. */
void pg_strtab_seal(pg_strtab *t)
{
    pg_index_free_pages(&t->set);
    pg_pages_free(t->from_dict, t->n_dict * sizeof *t->from_dict);
    t->from_dict = NULL;
}
