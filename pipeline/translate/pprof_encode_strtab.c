/* The pprof string table built by the encoder. */
#include "pipeline/translate/pprof_encode_int.h"

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
    t->from_dict = calloc(n_dict ? n_dict : 1, sizeof *t->from_dict);
    if (!t->from_dict) return -1;
    return pg_strtab_add(t, "", 0, 0) == 0 ? 0 : -1;
}

/* Frees the table and every copy it owns. */
void pg_strtab_free(pg_strtab *t)
{
    for (size_t i = 0; i < t->n_owned; i++) free(t->owned[i]);
    free(t->owned);
    free(t->s);
    free(t->len);
    free(t->from_dict);
    pg_index_free(&t->set);
    memset(t, 0, sizeof *t);
}

/* Interns s[0..n); borrowed unless copy. */
int64_t pg_strtab_add(pg_strtab *t, const char *s, size_t n, int copy)
{
    probe p = {s, n};
    uint64_t h = pg_hash_bytes(s, n, 11);
    uint32_t id = pg_index_find(&t->set, h, eq, t, &p);
    if (id != UINT32_MAX) return id;
    if (t->n == t->cap) {
        size_t c = t->cap ? t->cap * 2 : 256;
        const char **ns = realloc(t->s, c * sizeof *ns);
        if (!ns) return -1;
        t->s = ns;
        size_t *nl = realloc(t->len, c * sizeof *nl);
        if (!nl) return -1;
        t->len = nl;
        t->cap = c;
    }
    if (copy) {
        if (t->n_owned == t->cap_owned) {
            size_t c = t->cap_owned ? t->cap_owned * 2 : 16;
            char **no = realloc(t->owned, c * sizeof *no);
            if (!no) return -1;
            t->owned = no;
            t->cap_owned = c;
        }
        char *c = malloc(n + 1);
        if (!c) return -1;
        memcpy(c, s, n);
        c[n] = 0;
        t->owned[t->n_owned++] = c;
        s = c;
    }
    t->s[t->n] = s;
    t->len[t->n] = n;
    if (pg_index_insert(&t->set, h, (uint32_t)t->n)) return -1;
    return (int64_t)t->n++;
}

/* Interns dictionary string i (borrowed from the batch). */
int64_t pg_strtab_dict(pg_strtab *t, const pg_otlp_dict *d, int32_t i)
{
    if (i == 0) return 0;
    if (t->from_dict[i]) return t->from_dict[i];
    const char *s = d->string_table[i];
    int64_t r = pg_strtab_add(t, s, strlen(s), 0);
    if (r > 0) t->from_dict[i] = r;
    return r;
}
