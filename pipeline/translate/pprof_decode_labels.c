/* pprof labels -> OTLP sample attributes. One attribute per distinct key, first-seen key
 * order; a key seen several times becomes an array value keeping the values' order (a
 * num whose unit differs from the attribute's unit becomes a {value, unit} kvlist). */
#include "pipeline/translate/pprof_decode_int.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

/* Copies the text of label j's string (a pprof string index, validated) into the decoder's
 * text scratch at *at, NUL-terminated, and moves *at past it. Label values are not put in the
 * dictionary's string table: an attribute holds its value itself (interning copies it), so
 * a table entry would only be one more copy of every trace and span id, in memory and in
 * the OTLP output. Returns 0 or a negative status (message in d->err). */
static int label_text(pg_pprof_dec *d, int64_t si, size_t *at)
{
    const char *t;
    size_t n;
    int rc = pg_pprof_dec_text(d, si, &t, &n);
    if (rc) return rc;
    if (pg_vec_reserve((void **)&d->text, &d->cap_text, *at + n + 1, 1, 256))
        return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
    memcpy(d->text + *at, t, n);
    d->text[*at + n] = 0;
    *at += n + 1;
    return 0;
}

/* Fills v with label j's value: a string (at offset off of the text scratch, see
 * label_text) or an int. */
static void label_value(pg_pprof_dec *d, const int64_t *strs, const int64_t *nums, size_t j,
                        size_t off, pg_otlp_any *v)
{
    if (strs[j] != 0) {
        v->value_case = PG_ANY_STRING;
        v->string_value = d->text + off;
    } else {
        v->value_case = PG_ANY_INT;
        v->int_value = nums[j];
    }
}

/* Builds the array value for the labels at positions idx[0..m) of one key. Elements live
 * in caller-provided storage (elems, kvs, kvps) and are deep-copied by interning. */
static int multi_value(pg_pprof_dec *d, const int64_t *strs, const int64_t *nums,
                       const int32_t *unit_ix, const size_t *idx, size_t m, int32_t attr_unit,
                       pg_otlp_any *elems, pg_otlp_any **ptrs, pg_otlp_kvlist *lists,
                       pg_otlp_kv *kvs, pg_otlp_kv **kvp, pg_otlp_any *unit_vals)
{
    pg_otlp_dict *dict = pg_batch_dict(d->b);
    size_t *off = malloc(m * sizeof *off), at = 0;
    if (!off) return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
    for (size_t k = 0; k < m; k++) { /* every text first: the scratch may move as it grows */
        off[k] = at;
        if (strs[idx[k]] != 0 && label_text(d, strs[idx[k]], &at)) {
            free(off);
            return PG_ENOMEM;
        }
    }
    for (size_t k = 0; k < m; k++) {
        size_t j = idx[k];
        static const pg_otlp_any init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        elems[k] = init;
        ptrs[k] = &elems[k];
        label_value(d, strs, nums, j, off[k], &elems[k]);
        if (strs[j] == 0 && unit_ix[j] != attr_unit) {
            /* {value: num, unit: "..."} */
            static const pg_otlp_kv kinit = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
            static const pg_otlp_kvlist linit =
                OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
            pg_otlp_kv *pair = &kvs[2 * k];
            pair[0] = kinit;
            pair[1] = kinit;
            unit_vals[2 * k] = elems[k];
            unit_vals[2 * k + 1] = init;
            unit_vals[2 * k + 1].value_case = PG_ANY_STRING;
            unit_vals[2 * k + 1].string_value = dict->string_table[unit_ix[j]];
            pair[0].key = (char *)PG_SC_LABEL_VALUE;
            pair[0].value = &unit_vals[2 * k];
            pair[1].key = (char *)PG_SC_LABEL_UNIT;
            pair[1].value = &unit_vals[2 * k + 1];
            kvp[2 * k] = &pair[0];
            kvp[2 * k + 1] = &pair[1];
            lists[k] = linit;
            lists[k].values = &kvp[2 * k];
            lists[k].n_values = 2;
            elems[k].value_case = PG_ANY_KVLIST;
            elems[k].kvlist_value = &lists[k];
        }
    }
    free(off);
    return 0;
}

/* A cache of what one label (key, str, num, unit) interned to, for every key that occurs
 * once in its sample: most labels repeat (Go heap profiles: "bytes"; services: the same
 * trace_id and span_id on consecutive samples, a few routes), and a hit costs one slot
 * compare instead of hashing and comparing the value in the attribute table. A slot is
 * overwritten on collision; the answer is the same as interning again. The cache has about
 * two slots per sample of the input, at least 2^6 and at most 2^12: a small profile (a 15 s
 * push) does not pay for clearing and faulting in a cache made for a large one. */
#define MEMO_MIN_BITS 6
#define MEMO_MAX_BITS 12
typedef struct memo_slot {
    int64_t k, s, n, u;
    int32_t attr; /* 0 = empty (label attributes never land on element 0) */
} memo_slot;
struct pg_label_memo {
    unsigned shift; /* 64 - the number of index bits */
    memo_slot slot[];
};

/* Allocates the memo for a pprof of `samples` samples, every slot empty (malloc-owned).
 * Faulted in writable at once, as a big index is (hash.c): the memo is read before it is
 * written, and a page first read maps the shared zero page, whose copy on the first write
 * flushes the TLB of the sample reader's CPU too, 40 times for a 1 MB profile's memo. */
static struct pg_label_memo *memo_new(size_t samples)
{
    unsigned bits = MEMO_MIN_BITS;
    while (bits < MEMO_MAX_BITS && ((size_t)1 << bits) < 2 * samples)
        bits++;
    size_t size = sizeof(struct pg_label_memo) + ((size_t)1 << bits) * sizeof(memo_slot);
    struct pg_label_memo *m = calloc(1, size);
    if (!m) return NULL;
    if (size >= ((size_t)64 << 10)) pg_pages_populate(m, size);
    m->shift = 64 - bits;
    return m;
}

static memo_slot *memo_find(pg_pprof_dec *d, int64_t k, int64_t s, int64_t n, int64_t u)
{
    if (!d->memo && !(d->memo = memo_new(d->memo_hint))) return NULL;
    uint64_t h = ((uint64_t)k * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)s * 0xc2b2ae3d27d4eb4full) ^
                 ((uint64_t)n * 0x165667b19e3779f9ull) ^ ((uint64_t)u * 0x27d4eb2f165667c5ull);
    return &d->memo->slot[(h ^ (h >> 29)) >> d->memo->shift];
}

/* Does slot m hold the answer for label (k, s, n, u)? */
static int memo_hit(const memo_slot *m, int64_t k, int64_t s, int64_t n, int64_t u)
{
    return m && m->attr && m->k == k && m->s == s && m->n == n && m->u == u;
}

/* Interns label j alone (its key occurs once in the sample; key is its dictionary string)
 * through the memo. Returns the attribute index or a negative status. */
static int32_t single_attr(pg_pprof_dec *d, const int64_t *keys, const int64_t *strs,
                           const int64_t *nums, const int64_t *units, size_t j, int32_t key,
                           int32_t unit)
{
    memo_slot *m = memo_find(d, keys[j], strs[j], nums[j], units[j]);
    if (memo_hit(m, keys[j], strs[j], nums[j], units[j])) return m->attr;
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    size_t at = 0;
    if (strs[j] != 0 && label_text(d, strs[j], &at)) return PG_ENOMEM;
    label_value(d, strs, nums, j, 0, &v);
    int32_t attr = pg_dict_attr(d->b, key, &v, strs[j] == 0 ? unit : 0);
    if (attr > 0 && m) *m = (memo_slot){keys[j], strs[j], nums[j], units[j], attr};
    return attr;
}

/* Converts n labels into attribute indices (a key occurring once: through the memo);
 * scratch is malloc'd only for more than 16 labels or multi-valued keys. */
int pg_pprof_labels_to_attrs(pg_pprof_dec *d, const int64_t *keys, const int64_t *strs,
                             const int64_t *nums, const int64_t *units, size_t n, int32_t *out,
                             size_t *n_out)
{
    if (n == 1) { /* the common case (Go heap profiles) answered before any bookkeeping */
        memo_slot *m = memo_find(d, keys[0], strs[0], nums[0], units[0]);
        if (memo_hit(m, keys[0], strs[0], nums[0], units[0])) {
            out[0] = m->attr;
            *n_out = 1;
            return 0;
        }
    }
    int32_t kbuf[16], ubuf[16];
    size_t ibuf[16];
    int32_t *kix = n <= 16 ? kbuf : malloc(n * sizeof *kix);
    int32_t *uix = n <= 16 ? ubuf : malloc(n * sizeof *uix);
    size_t *idx = n <= 16 ? ibuf : malloc(n * sizeof *idx);
    int rc = 0;
    *n_out = 0;
    if (!kix || !uix || !idx) {
        rc = pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        if (pg_pprof_dec_str(d, keys[j], &kix[j])) {
            rc = PG_EINVAL;
            goto done;
        }
        uix[j] = 0;
        if (strs[j] == 0 && pg_pprof_dec_str(d, units[j], &uix[j])) {
            rc = PG_EINVAL;
            goto done;
        }
        const char *t;
        size_t tn;
        if (strs[j] != 0 && pg_pprof_dec_text(d, strs[j], &t, &tn)) { /* index in range */
            rc = PG_EINVAL;
            goto done;
        }
    }
    for (size_t j = 0; j < n; j++) {
        if (kix[j] < 0) continue; /* consumed by an earlier label of the same key */
        size_t m = 0;
        int32_t key = kix[j];
        for (size_t k = j; k < n; k++)
            if (kix[k] == key) {
                idx[m++] = k;
                if (k != j) kix[k] = -1; /* consumed */
            }
        int32_t attr;
        if (m == 1) {
            attr = single_attr(d, keys, strs, nums, units, j, key, uix[j]);
        } else {
            pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
            int32_t attr_unit = 0;
            for (size_t k = 0; k < m; k++)
                if (strs[idx[k]] == 0) {
                    attr_unit = uix[idx[k]];
                    break;
                }
            pg_otlp_any *elems = malloc(m * (3 * sizeof(pg_otlp_any) + sizeof(pg_otlp_any *) +
                                             sizeof(pg_otlp_kvlist) + 2 * sizeof(pg_otlp_kv) +
                                             2 * sizeof(pg_otlp_kv *)));
            if (!elems) {
                rc = pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
                goto done;
            }
            pg_otlp_any *unit_vals = elems + m;                            /* 2m */
            pg_otlp_kvlist *lists = (pg_otlp_kvlist *)(unit_vals + 2 * m); /* m */
            pg_otlp_kv *kvs = (pg_otlp_kv *)(lists + m);                   /* 2m */
            pg_otlp_any **ptrs = (pg_otlp_any **)(kvs + 2 * m);            /* m */
            pg_otlp_kv **kvp = (pg_otlp_kv **)(ptrs + m);                  /* 2m */
            pg_otlp_array arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
            if (multi_value(d, strs, nums, uix, idx, m, attr_unit, elems, ptrs, lists, kvs, kvp,
                            unit_vals)) {
                free(elems);
                rc = PG_EINVAL;
                goto done;
            }
            arr.values = ptrs;
            arr.n_values = m;
            v.value_case = PG_ANY_ARRAY;
            v.array_value = &arr;
            attr = pg_dict_attr(d->b, key, &v, attr_unit);
            free(elems);
        }
        if (attr < 0) {
            rc = pg_pprof_dec_mem(d, attr);
            goto done;
        }
        out[(*n_out)++] = attr;
    }
done:
    if (kix != kbuf) free(kix);
    if (uix != ubuf) free(uix);
    if (idx != ibuf) free(idx);
    return rc;
}

/* Go build ids look like "actionID/contentID"; GNU build ids are hex. */
const char *pg_pprof_build_id_key(const char *id, size_t n)
{
    return memchr(id, '/', n) ? PG_SC_BUILD_ID_GO : PG_SC_BUILD_ID_GNU;
}
