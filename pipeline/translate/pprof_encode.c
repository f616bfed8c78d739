/* OTLP -> pprof, step 2: writes one planned group as a pprof Profile message, streamed
 * to the output (pprof_encode_out.c) in Go's field order: sample types, samples, tables, strings,
 * scalars. */
#include "pipeline/translate/pprof_encode_int.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/translate/pprof_tables.h"
#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

typedef struct enc {
    const pg_otlp_dict *d;
    const pg_pprof_group *g;
    const pg_pprof_encode_opts *o;
    pg_strtab st;
    uint64_t *loc_id, *map_id, *fn_id; /* dictionary index -> pprof id (0 = unused) */
    int32_t *map_by_id;                /* pprof mapping id - 1 -> dictionary index */
    size_t n_maps;
    pg_labels labels;
    pg_labels extra;     /* resource / scope / profile labels added to every sample */
    pg_labels memo;      /* labels of each attribute / link met twice, in that order */
    uint32_t *attr_memo; /* attribute index -> 1 + first label in memo (0 = not yet met,
                          * MEMO_ONCE = met once) */
    uint32_t *attr_memo_n;
    uint8_t *attr_trace; /* attribute is a trace_id / span_id label */
    uint32_t *link_memo; /* link index -> 1 + first of its two labels in memo (as above) */
    pg_buf *w;           /* the output stream */
    pg_pprof_out *so;    /* its owner */
    pg_buf tmp;
    int64_t *vals;
    uint64_t *locs;
    size_t cap_locs;
} enc;

static const char *attr_key(const pg_otlp_dict *d, int32_t a)
{
    return d->string_table[d->attribute_table[a]->key_strindex];
}

/* Finds attribute `key` among indices ix[0..n); NULL when absent. */
static const pg_otlp_attr *find_attr(const pg_otlp_dict *d, const int32_t *ix, size_t n,
                                     const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(attr_key(d, ix[i]), key) == 0) return d->attribute_table[ix[i]];
    return NULL;
}

static int attr_true(const pg_otlp_attr *a)
{
    return a && a->value && a->value->value_case == PG_ANY_BOOL && a->value->bool_value;
}

/* Marks the locations, mappings and functions the group's samples use, and those its
 * table-entries record lists (pprof_tables.h), and numbers them 1..n in dictionary order;
 * mappings the record lists come first, in its order. */
static int assign_ids(enc *e)
{
    const pg_otlp_dict *d = e->d;
    e->loc_id = calloc(d->n_location_table, sizeof *e->loc_id);
    e->map_id = calloc(d->n_mapping_table, sizeof *e->map_id);
    e->fn_id = calloc(d->n_function_table, sizeof *e->fn_id);
    if (!e->loc_id || !e->map_id || !e->fn_id) return PG_ENOMEM;
    for (size_t k = 0; k < e->g->n_profiles; k++) {
        const pg_otlp_profile *p = e->g->profiles[k];
        size_t ns = pg_profile_sample_count(p);
        const pg_samples *c = pg_profile_columns(p);
        if (k > 0 && c && pg_profile_columns(e->g->profiles[0]) &&
            c->stack == pg_profile_columns(e->g->profiles[0])->stack)
            continue; /* the same stacks as profile 0 */
        for (size_t i = 0; i < ns; i++) {
            pg_sample_ref r;
            pg_sample_at(p, i, &r);
            pg_stack_ref s;
            pg_dict_stack_at(d, (size_t)r.stack, &s);
            for (size_t j = 0; j < s.n; j++)
                e->loc_id[pg_stack_loc(&s, j)] = 1;
        }
    }
    int32_t *order = NULL;
    size_t n_order = 0;
    if (e->g->tables &&
        pg_pprof_tables_mark(d, e->g->tables, e->loc_id, e->fn_id, &order, &n_order))
        return PG_ENOMEM;
    const uint64_t marked = UINT64_MAX; /* a mapping in use, not numbered yet */
    uint64_t next = 1;
    for (size_t i = 1; i < d->n_location_table; i++) {
        if (!e->loc_id[i]) continue;
        e->loc_id[i] = next++;
        const pg_otlp_location *l = d->location_table[i];
        if (l->mapping_index) e->map_id[l->mapping_index] = marked;
        for (size_t j = 0; j < l->n_lines; j++)
            if (l->lines[j]->function_index) e->fn_id[l->lines[j]->function_index] = 1;
    }
    next = 1;
    for (size_t k = 0; k < n_order; k++)
        if (e->map_id[order[k]] == 0 || e->map_id[order[k]] == marked) e->map_id[order[k]] = next++;
    free(order);
    for (size_t i = 1; i < d->n_mapping_table; i++)
        if (e->map_id[i] == marked) e->map_id[i] = next++;
    if (!(e->map_by_id = malloc(next * sizeof *e->map_by_id))) return PG_ENOMEM;
    e->n_maps = next - 1;
    for (size_t i = 1; i < d->n_mapping_table; i++)
        if (e->map_id[i]) e->map_by_id[e->map_id[i] - 1] = (int32_t)i;
    next = 1;
    for (size_t i = 1; i < d->n_function_table; i++)
        if (e->fn_id[i]) e->fn_id[i] = next++;
    return 0;
}

/* Appends labels v[0..n) to l. */
static int add_labels(pg_labels *l, const pg_label *v, size_t n)
{
    int rc = PG_VEC_RESERVE(l->v, l->cap, l->n + n, 16);
    if (rc) return rc;
    if (n) memcpy(l->v + l->n, v, n * sizeof *v);
    l->n += n;
    return 0;
}

/* attr_memo / link_memo value of an entry met once: its labels were made straight into
 * that sample's labels and not kept. */
#define MEMO_ONCE UINT32_MAX

/* Where the labels of a memoised entry whose slot holds `m` are made: NULL when the memo
 * holds them already (they are appended to the sample's labels from there), else the
 * sample's own labels on first sight, or the memo on the second, so that an entry of one
 * sample only (a span id, a numeric label) costs no memo. */
static pg_labels *labels_target(enc *e, uint32_t m)
{
    return !m ? &e->labels : m == MEMO_ONCE ? &e->memo : NULL;
}

/* Records in *slot the labels made into `into` from `at` on (labels_target's answer) and
 * appends them to the sample's labels when they went to the memo. */
static int memo_made(enc *e, pg_labels *into, size_t at, uint32_t *slot)
{
    if (into == &e->labels) {
        *slot = MEMO_ONCE;
        return 0;
    }
    if (at >= MEMO_ONCE - 1) return PG_ELIMIT;
    *slot = (uint32_t)at + 1;
    return add_labels(&e->labels, e->memo.v + at, e->memo.n - at);
}

/* Appends the labels of attribute a to the sample's labels (the string table grows in the
 * same order as if they were made for every sample: at the first sample that uses them);
 * *trace says whether it is a trace_id / span_id label. */
static int attr_labels(enc *e, int32_t a, int *trace)
{
    const pg_otlp_dict *d = e->d;
    if (!e->attr_memo) {
        size_t na = d->n_attribute_table;
        e->attr_memo = calloc(na, sizeof *e->attr_memo);
        e->attr_memo_n = calloc(na, sizeof *e->attr_memo_n);
        e->attr_trace = calloc(na, 1);
        if (!e->attr_memo || !e->attr_memo_n || !e->attr_trace) return PG_ENOMEM;
    }
    uint32_t m = e->attr_memo[a];
    pg_labels *into = labels_target(e, m);
    if (!m) {
        const char *k = attr_key(d, a);
        e->attr_trace[a] = !strcmp(k, PG_SC_LABEL_TRACE_ID) || !strcmp(k, PG_SC_LABEL_SPAN_ID);
    }
    *trace = e->attr_trace[a];
    if (!into) return add_labels(&e->labels, e->memo.v + m - 1, e->attr_memo_n[a]);
    size_t at = into->n;
    int rc = pg_labels_from_attr(into, &e->st, d, d->attribute_table[a]);
    if (!rc) rc = memo_made(e, into, at, &e->attr_memo[a]);
    if (!rc && into == &e->memo) e->attr_memo_n[a] = (uint32_t)(e->memo.n - at);
    return rc;
}

/* Appends the two labels of link k to the sample's labels. */
static int link_labels(enc *e, int32_t k)
{
    if (!e->link_memo && !(e->link_memo = calloc(e->d->n_link_table, sizeof *e->link_memo)))
        return PG_ENOMEM;
    uint32_t m = e->link_memo[k];
    pg_labels *into = labels_target(e, m);
    if (!into) return add_labels(&e->labels, e->memo.v + m - 1, 2);
    size_t at = into->n;
    int rc = pg_labels_from_link(into, &e->st, e->d->link_table[k]);
    return rc ? rc : memo_made(e, into, at, &e->link_memo[k]);
}

/* Makes e->labels those of sample s: its attributes', its link's, then the extra labels. */
static int sample_labels(enc *e, const pg_sample_ref *s)
{
    e->labels.n = 0;
    int has_trace = 0, rc;
    for (size_t i = 0; i < s->n_attrs; i++) {
        int trace;
        if ((rc = attr_labels(e, s->attrs[i], &trace))) return rc;
        has_trace |= trace;
    }
    if (e->o->links_as_labels && s->link && !has_trace && (rc = link_labels(e, s->link))) return rc;
    return add_labels(&e->labels, e->extra.v, e->extra.n);
}

/* Writes one Sample with stack `stack`, values vals[0..nv) and e->labels straight into
 * the output: sizes first, then the bytes, with no staging copy. */
static int write_sample(enc *e, int32_t stack, const int64_t *vals, size_t nv)
{
    pg_stack_ref s;
    pg_dict_stack_at(e->d, (size_t)stack, &s);
    int rc = PG_VEC_RESERVE(e->locs, e->cap_locs, s.n, 64);
    if (rc) return rc;
    /* pprof ids of the frames, one loop per pool width; nl counts their varint bytes */
    size_t nl = 0, nvb = 0;
    const uint64_t *ids = e->loc_id;
    uint64_t big = 0; /* any id of more than one byte */
    if (s.width == 1) {
        const uint8_t *l = s.loc;
        for (size_t j = 0; j < s.n; j++)
            big |= e->locs[j] = ids[l[j]];
    } else if (s.width == 2) {
        const uint16_t *l = s.loc;
        for (size_t j = 0; j < s.n; j++)
            big |= e->locs[j] = ids[l[j]];
    } else {
        const int32_t *l = s.loc;
        for (size_t j = 0; j < s.n; j++)
            big |= e->locs[j] = ids[l[j]];
    }
    if (big < 0x80)
        nl = s.n;
    else
        for (size_t j = 0; j < s.n; j++)
            nl += pg_wire_varint_size(e->locs[j]);
    for (size_t k = 0; k < nv; k++)
        nvb += pg_wire_varint_size((uint64_t)vals[k]);
    size_t len = pg_labels_size(&e->labels);
    if (s.n) len += 1 + pg_wire_varint_size(nl) + nl;
    if (nv) len += 1 + pg_wire_varint_size(nvb) + nvb;
    pg_buf *b = e->w;
    if ((rc = pg_buf_reserve(b, 1 + 10 + len))) return rc;
    uint8_t *p = b->data + b->len;
    *p++ = (2 << 3) | PG_WT_LEN;
    p = pg_wire_raw_varint(p, len);
    if (s.n) {
        *p++ = (1 << 3) | PG_WT_LEN;
        p = pg_wire_raw_varint(p, nl);
        if (nl == s.n)
            for (size_t j = 0; j < s.n; j++)
                *p++ = (uint8_t)e->locs[j];
        else
            for (size_t j = 0; j < s.n; j++)
                p = pg_wire_raw_varint(p, e->locs[j]);
    }
    if (nv) {
        *p++ = (2 << 3) | PG_WT_LEN;
        p = pg_wire_raw_varint(p, nvb);
        for (size_t k = 0; k < nv; k++)
            p = pg_wire_raw_varint(p, (uint64_t)vals[k]);
    }
    p = pg_labels_put(p, &e->labels);
    b->len = (size_t)(p - b->data);
    return 0;
}

/* Value of sample i of a profile whose samples have one value each. */
static int64_t value_at(const pg_otlp_profile *p, const pg_samples *c, size_t i)
{
    if (c && c->narrow) return pg_narrow_get(c->narrow, c->width, i);
    if (c && c->values && !c->val_off) return c->values[i];
    pg_sample_ref r;
    pg_sample_at(p, i, &r);
    return r.values[0];
}

/* Value a sample contributes to its pprof value: the sum of its values, or its number of
 * timestamps when it has no values. */
static int64_t contribution(const pg_sample_ref *s)
{
    if (!s->n_values) return (int64_t)s->n_ts;
    int64_t v = 0;
    for (size_t i = 0; i < s->n_values; i++)
        v += s->values[i];
    return v;
}

/* What positional writing hands back as it goes when the samples are consumed: the
 * columns of every profile of the group, and the stack table's entries. */
typedef struct consumer {
    pg_samples_releaser *cols; /* n_cols, malloc-owned; NULL when not consuming */
    size_t n_cols;
    pg_stacks_releaser stacks;
} consumer;

/* Starts consuming the group's ns samples when the caller gave them up (o->consume_samples);
 * else leaves c inert. Returns 0 or PG_ENOMEM. */
static int consumer_init(consumer *c, enc *e, size_t ns)
{
    *c = (consumer){0};
    if (!e->o->consume_samples) return 0;
    const pg_pprof_group *g = e->g;
    if (!(c->cols = calloc(g->n_profiles, sizeof *c->cols))) return PG_ENOMEM;
    c->n_cols = g->n_profiles;
    for (size_t k = 0; k < g->n_profiles; k++)
        pg_samples_releaser_init(&c->cols[k], pg_profile_columns(g->profiles[k]),
                                 k ? pg_profile_columns(g->profiles[k - 1]) : NULL);
    const pg_samples *c0 = pg_profile_columns(g->profiles[0]);
    return pg_stacks_releaser_init(&c->stacks, pg_dict_stacks(e->d), c0->stack, ns);
}

/* Samples [0, i) are written: their pages go, a block of samples at a time. */
static void consumer_advance(consumer *c, size_t i)
{
    if (!c->cols || i % PG_STACKS_RELEASE_BLOCK) return;
    for (size_t k = 0; k < c->n_cols; k++)
        pg_samples_releaser_advance(&c->cols[k], i);
    pg_stacks_releaser_advance(&c->stacks, i);
}

static void consumer_free(consumer *c)
{
    free(c->cols);
    pg_stacks_releaser_free(&c->stacks);
    *c = (consumer){0};
}

/* Samples that correspond by position: one pprof sample per position. */
static int write_positional(enc *e)
{
    const pg_pprof_group *g = e->g;
    size_t nt = g->zero_types ? 0 : g->n_profiles;
    const pg_otlp_profile *p0 = g->profiles[0];
    size_t ns = pg_profile_sample_count(p0);
    const pg_samples **cols = malloc((nt ? nt : 1) * sizeof *cols);
    consumer cons = {0};
    int rc = cols ? consumer_init(&cons, e, ns) : PG_ENOMEM;
    for (size_t k = 0; k < nt && !rc; k++)
        cols[k] = pg_profile_columns(g->profiles[k]);
    for (size_t i = 0; i < ns && !rc; i++) {
        pg_sample_ref r;
        for (size_t k = 0; k < nt; k++)
            e->vals[k] = value_at(g->profiles[k], cols[k], i);
        pg_sample_at(p0, i, &r);
        if (!(rc = sample_labels(e, &r))) rc = write_sample(e, r.stack, e->vals, nt);
        pg_pprof_out_sample_written(e->so, i, ns);
        consumer_advance(&cons, i + 1);
    }
    consumer_free(&cons);
    free(cols);
    return rc;
}

/* Where an identity was first seen: profile k of the group, sample i. */
typedef struct first_seen {
    uint32_t k, i;
} first_seen;

typedef struct ident_ctx {
    const pg_pprof_group *g;
    const first_seen *first;
} ident_ctx;

/* Is sample `key` the same identity as first[id]? */
static int same_identity(const void *ctx, const void *key, uint32_t id)
{
    const ident_ctx *c = ctx;
    const pg_sample_ref *s = key;
    pg_sample_ref t;
    pg_sample_at(c->g->profiles[c->first[id].k], c->first[id].i, &t);
    return t.stack == s->stack && t.link == s->link && t.n_attrs == s->n_attrs &&
           (!s->n_attrs || !memcmp(t.attrs, s->attrs, s->n_attrs * 4));
}

/* Samples merged by identity {stack, attributes, link}, first-seen order. */
static int write_merged(enc *e)
{
    const pg_pprof_group *g = e->g;
    size_t nt = g->zero_types ? 0 : g->n_profiles, total = 0;
    for (size_t k = 0; k < g->n_profiles; k++)
        total += pg_profile_sample_count(g->profiles[k]);
    first_seen *first = malloc((total ? total : 1) * sizeof *first);
    int64_t *vals = calloc((total ? total : 1) * (nt ? nt : 1), sizeof *vals);
    pg_index ix = {0};
    ident_ctx ctx = {g, first};
    size_t n = 0;
    int rc = !first || !vals ? PG_ENOMEM : total >= UINT32_MAX ? PG_ELIMIT : 0;
    for (size_t k = 0; k < g->n_profiles && !rc; k++) {
        const pg_otlp_profile *p = g->profiles[k];
        size_t ns = pg_profile_sample_count(p);
        for (size_t i = 0; i < ns && !rc; i++) {
            pg_sample_ref s;
            pg_sample_at(p, i, &s);
            if (!s.n_ts && s.n_values > 1) {
                rc = PG_EINVAL;
                break;
            }
            uint64_t h = pg_hash_mix(pg_hash_mix(1, (uint32_t)s.stack), (uint32_t)s.link);
            h = pg_hash_bytes(s.attrs, s.n_attrs * 4, h);
            uint32_t found = pg_index_find(&ix, h, same_identity, &ctx, &s);
            size_t slot = found;
            if (found == UINT32_MAX) {
                slot = n;
                first[n++] = (first_seen){(uint32_t)k, (uint32_t)i};
                rc = pg_index_insert(&ix, h, (uint32_t)slot);
            }
            if (nt) vals[slot * nt + k] += contribution(&s);
        }
    }
    for (size_t i = 0; i < n && !rc; i++) {
        pg_sample_ref s;
        pg_sample_at(g->profiles[first[i].k], first[i].i, &s);
        if (!(rc = sample_labels(e, &s))) rc = write_sample(e, s.stack, &vals[i * nt], nt);
        pg_pprof_out_sample_written(e->so, i, n);
    }
    pg_index_free_pages(&ix);
    pg_pages_free(first, (total ? total : 1) * sizeof *first);
    pg_pages_free(vals, (total ? total : 1) * (nt ? nt : 1) * sizeof *vals);
    return rc;
}

/* Frees the label memos, which only the samples use, handing the pages of the large ones
 * back before the tables and strings are written (the output grows on, the memos go). */
static void free_label_memos(enc *e)
{
    size_t na = e->d->n_attribute_table;
    pg_pages_free(e->memo.v, e->memo.cap * sizeof *e->memo.v);
    e->memo = (pg_labels){0};
    pg_pages_free(e->attr_memo, na * sizeof *e->attr_memo);
    pg_pages_free(e->attr_memo_n, na * sizeof *e->attr_memo_n);
    pg_pages_free(e->attr_trace, na * sizeof *e->attr_trace);
    pg_pages_free(e->link_memo, e->d->n_link_table * sizeof *e->link_memo);
    e->attr_memo = e->attr_memo_n = e->link_memo = NULL;
    e->attr_trace = NULL;
}

/* Writes the Mapping, Location and Function tables for the ids assigned. */
static int write_tables(enc *e, pg_buf *out)
{
    const pg_otlp_dict *d = e->d;
    pg_buf *t = &e->tmp;
    static const char *const has_keys[4] = {PG_SC_HAS_FUNCTIONS, PG_SC_HAS_FILENAMES,
                                            PG_SC_HAS_LINE_NUMBERS, PG_SC_HAS_INLINE_FRAMES};
    for (size_t id = 1; id <= e->n_maps; id++) { /* in id order: mapping[0] is the main binary */
        const pg_otlp_mapping *m = d->mapping_table[e->map_by_id[id - 1]];
        t->len = 0;
        pg_wire_put_uint(t, 1, id);
        pg_wire_put_uint(t, 2, m->memory_start);
        pg_wire_put_uint(t, 3, m->memory_limit);
        pg_wire_put_uint(t, 4, m->file_offset);
        pg_wire_put_uint(t, 5, (uint64_t)pg_strtab_dict(&e->st, d, m->filename_strindex));
        const pg_otlp_attr *bid =
            find_attr(d, m->attribute_indices, m->n_attribute_indices, PG_SC_BUILD_ID_GNU);
        if (!bid)
            bid = find_attr(d, m->attribute_indices, m->n_attribute_indices, PG_SC_BUILD_ID_GO);
        if (!bid)
            bid =
                find_attr(d, m->attribute_indices, m->n_attribute_indices, PG_SC_BUILD_ID_HTLHASH);
        if (bid && bid->value && bid->value->value_case == PG_ANY_STRING) {
            const char *s = bid->value->string_value;
            pg_wire_put_uint(t, 6, (uint64_t)pg_strtab_add(&e->st, s, strlen(s), 0));
        }
        for (int k = 0; k < 4; k++)
            pg_wire_put_uint(t, 7 + (uint32_t)k,
                             (uint64_t)attr_true(find_attr(d, m->attribute_indices,
                                                           m->n_attribute_indices, has_keys[k])));
        pg_wire_put_bytes(out, 3, t->data, t->len);
        pg_pprof_out_progress(e->so);
    }
    pg_buf line = {0};
    for (size_t i = 1; i < d->n_location_table; i++) {
        if (!e->loc_id[i]) continue;
        const pg_otlp_location *l = d->location_table[i];
        t->len = 0;
        pg_wire_put_uint(t, 1, e->loc_id[i]);
        pg_wire_put_uint(t, 2, l->mapping_index ? e->map_id[l->mapping_index] : 0);
        pg_wire_put_uint(t, 3, l->address);
        for (size_t j = 0; j < l->n_lines; j++) {
            const pg_otlp_line *ln = l->lines[j];
            line.len = 0;
            pg_wire_put_uint(&line, 1, ln->function_index ? e->fn_id[ln->function_index] : 0);
            pg_wire_put_uint(&line, 2, (uint64_t)ln->line);
            pg_wire_put_uint(&line, 3, (uint64_t)ln->column);
            pg_wire_put_bytes(t, 4, line.data, line.len);
        }
        pg_wire_put_uint(t, 5,
                         (uint64_t)attr_true(find_attr(d, l->attribute_indices,
                                                       l->n_attribute_indices, PG_SC_IS_FOLDED)));
        pg_wire_put_bytes(out, 4, t->data, t->len);
        pg_pprof_out_progress(e->so);
    }
    int failed = line.failed;
    pg_buf_free(&line);
    for (size_t i = 1; i < d->n_function_table; i++) {
        if (!e->fn_id[i]) continue;
        const pg_otlp_function *f = d->function_table[i];
        t->len = 0;
        pg_wire_put_uint(t, 1, e->fn_id[i]);
        pg_wire_put_uint(t, 2, (uint64_t)pg_strtab_dict(&e->st, d, f->name_strindex));
        pg_wire_put_uint(t, 3, (uint64_t)pg_strtab_dict(&e->st, d, f->system_name_strindex));
        pg_wire_put_uint(t, 4, (uint64_t)pg_strtab_dict(&e->st, d, f->filename_strindex));
        pg_wire_put_uint(t, 5, (uint64_t)f->start_line);
        pg_wire_put_bytes(out, 5, t->data, t->len);
        pg_pprof_out_progress(e->so);
    }
    return failed ? failed : t->failed ? t->failed : out->failed;
}

/* Writes a ValueType field. */
static void put_value_type(enc *e, pg_buf *out, uint32_t field, const pg_otlp_valuetype *v)
{
    pg_buf *t = &e->tmp;
    t->len = 0;
    pg_wire_put_uint(t, 1, (uint64_t)(v ? pg_strtab_dict(&e->st, e->d, v->type_strindex) : 0));
    pg_wire_put_uint(t, 2, (uint64_t)(v ? pg_strtab_dict(&e->st, e->d, v->unit_strindex) : 0));
    pg_wire_put_bytes(out, field, t->data, t->len);
}

/* Profile-level attributes: comments, drop/keep frames, doc_url, and (when asked) the
 * other attributes as labels on every sample. Writes fields 7, 8, 13 and 15 to `tail`. */
static int profile_fields(enc *e, const pg_otlp_profile *p, pg_buf *tail)
{
    const pg_otlp_dict *d = e->d;
    for (size_t i = 0; i < p->n_attribute_indices; i++) {
        const pg_otlp_attr *a = d->attribute_table[p->attribute_indices[i]];
        const char *k = d->string_table[a->key_strindex];
        const pg_otlp_any *v = a->value;
        int is_str = v && v->value_case == PG_ANY_STRING;
        uint32_t field = !strcmp(k, PG_SC_DROP_FRAMES)   ? 7
                         : !strcmp(k, PG_SC_KEEP_FRAMES) ? 8
                         : !strcmp(k, PG_SC_DOC_URL)     ? 15
                                                         : 0;
        if (field && is_str) {
            pg_wire_put_uint(
                tail, field,
                (uint64_t)pg_strtab_add(&e->st, v->string_value, strlen(v->string_value), 0));
        } else if (!strcmp(k, PG_SC_COMMENT) && v && v->value_case == PG_ANY_ARRAY) {
            for (size_t j = 0; v->array_value && j < v->array_value->n_values; j++) {
                const pg_otlp_any *c = v->array_value->values[j];
                if (c->value_case != PG_ANY_STRING) continue;
                int64_t s = pg_strtab_add(&e->st, c->string_value, strlen(c->string_value), 0);
                pg_wire_put_tag(tail, 13, PG_WT_VARINT);
                pg_wire_put_varint(tail, (uint64_t)s);
            }
        } else if (!strncmp(k, PG_SC_COMMENT_PREFIX, strlen(PG_SC_COMMENT_PREFIX)) && is_str) {
            int64_t s = pg_strtab_add(&e->st, v->string_value, strlen(v->string_value), 0);
            pg_wire_put_tag(tail, 13, PG_WT_VARINT);
            pg_wire_put_varint(tail, (uint64_t)s);
        } else if (e->o->resource_as_labels) {
            int rc = pg_labels_from_attr(&e->extra, &e->st, d, a);
            if (rc) return rc;
        }
    }
    return 0;
}

/* Collects resource and scope attributes as labels (only when asked). */
static int resource_labels(enc *e)
{
    if (!e->o->resource_as_labels) return 0;
    const pg_otlp_resource *r = e->g->resource ? e->g->resource->resource : NULL;
    const pg_otlp_scope *sc = e->g->scope ? e->g->scope->scope : NULL;
    int rc = 0;
    for (size_t i = 0; r && i < r->n_attributes && !rc; i++)
        rc = pg_labels_from_kv(&e->extra, &e->st, r->attributes[i]);
    for (size_t i = 0; sc && i < sc->n_attributes && !rc; i++) {
        const char *k = sc->attributes[i]->key ? sc->attributes[i]->key : "";
        if (strncmp(k, "pprof.scope.", 12))
            rc = pg_labels_from_kv(&e->extra, &e->st, sc->attributes[i]);
    }
    return rc;
}

/* Frees the dictionary -> pprof id tables (through pg_pages_free), once the tables are
 * written. */
static void free_id_tables(enc *e)
{
    const pg_otlp_dict *d = e->d;
    pg_pages_free(e->loc_id, d->n_location_table * sizeof *e->loc_id);
    pg_pages_free(e->fn_id, d->n_function_table * sizeof *e->fn_id);
    pg_pages_free(e->map_id, d->n_mapping_table * sizeof *e->map_id);
    free(e->map_by_id);
    e->loc_id = e->fn_id = e->map_id = NULL;
    e->map_by_id = NULL;
}

/* free(p), leaving p NULL. */
#define FREE_NULL(p) (free(p), (p) = NULL)

/* Frees the encoder's tables and scratch (twice is harmless). */
static void enc_free(enc *e)
{
    /* reads nothing of the batch (free_id_tables and free_label_memos do, for sizes): it
     * also runs after the `encoded` hook, which may have freed the batch */
    pg_strtab_free(&e->st);
    FREE_NULL(e->loc_id);
    FREE_NULL(e->map_id);
    FREE_NULL(e->map_by_id);
    FREE_NULL(e->fn_id);
    FREE_NULL(e->memo.v);
    FREE_NULL(e->attr_memo);
    FREE_NULL(e->attr_memo_n);
    FREE_NULL(e->attr_trace);
    FREE_NULL(e->link_memo);
    FREE_NULL(e->labels.v);
    FREE_NULL(e->extra.v);
    FREE_NULL(e->vals);
    FREE_NULL(e->locs);
    pg_buf_free(&e->tmp);
}

/* Encodes the group; out receives gzip or plain pprof bytes, as they are produced. */
int pg_pprof_encode(const pg_batch *b, const pg_pprof_group *g, const pg_pprof_encode_opts *o,
                    pg_buf *out, char *err, size_t errlen)
{
    enc e = {.d = pg_batch_dict(b), .g = g, .o = o};
    pg_buf tail = {0};
    pg_pprof_out so;
    int rc = PG_ENOMEM;
    size_t nt = g->zero_types ? 0 : g->n_profiles;
    const pg_otlp_profile *p0 = g->profiles[0];
    int opened = pg_pprof_out_open(&so, out, o->gzip) == 0;
    e.w = pg_pprof_out_sink(&so);
    e.so = &so;
    if (o->consume_samples && o->consume_samples != b) {
        rc = pg_err(err, errlen, PG_EINVAL, "pprof: consume_samples names another batch");
        goto done;
    }
    if (!opened || (rc = pg_strtab_init(&e.st, e.d->n_string_table)) || (rc = assign_ids(&e)))
        goto done;
    rc = PG_ENOMEM;
    if (!(e.vals = calloc(nt ? nt : 1, sizeof *e.vals))) goto done;
    /* Field order as Go writes it: types, samples, mappings, locations, functions,
     * strings, then scalars (built aside in tail, as their strings come first). */
    for (size_t k = 0; k < nt; k++)
        put_value_type(&e, e.w, 1, g->profiles[k]->sample_type);
    if ((rc = resource_labels(&e)) || (rc = profile_fields(&e, p0, &tail))) goto done;
    rc = g->positional ? write_positional(&e) : write_merged(&e);
    if (rc == PG_EINVAL) {
        rc = pg_err(err, errlen, PG_EINVAL, "pprof: a sample has several values but no timestamps");
        goto done;
    }
    if (!rc && o->consume_samples) pg_batch_drop_samples(o->consume_samples);
    if (!rc) free_label_memos(&e);
    if (rc || (rc = write_tables(&e, e.w))) goto done;
    pg_wire_put_uint(&tail, 9, p0->time_unix_nano);
    pg_wire_put_uint(&tail, 10, p0->duration_nano);
    if (p0->period_type) put_value_type(&e, &tail, 11, p0->period_type);
    pg_wire_put_uint(&tail, 12, (uint64_t)p0->period);
    const char *dflt = g->default_type;
    if (!dflt && !g->from_pprof && nt > 1 && p0->sample_type)
        dflt = e.d->string_table[p0->sample_type->type_strindex];
    if (dflt) pg_wire_put_uint(&tail, 14, (uint64_t)pg_strtab_add(&e.st, dflt, strlen(dflt), 0));
    /* every string is interned: the id tables and lookups go before the strings are
     * written, the last and, with the batch, largest the output gets */
    free_id_tables(&e);
    pg_strtab_seal(&e.st);
    for (size_t i = 0; i < e.st.n; i++) {
        pg_wire_put_bytes(e.w, 6, e.st.s[i], e.st.len[i]);
        pg_pprof_out_progress(&so);
    }
    pg_buf_append(e.w, tail.data, tail.len);
    /* the first latched failure: output, tail, scratch, then the string table's */
    rc = e.w->failed ? e.w->failed : tail.failed ? tail.failed : e.tmp.failed;
    if (!rc) rc = e.st.failed;
    enc_free(&e);
    pg_buf_free(&tail);
    if (!rc && o->encoded) o->encoded(o->encoded_ctx);
    if (!rc) rc = pg_pprof_out_close(&so);
done:
    if (rc && rc != PG_EINVAL)
        rc = pg_err(err, errlen, rc, "pprof: %s",
                    rc == PG_ENOMEM   ? "out of memory"
                    : rc == PG_ELIMIT ? "more than 2^32 samples or labels"
                    : rc == PG_EIO    ? "cannot write the output"
                                      : pg_status_name(rc));
    pg_pprof_out_free(&so, rc != 0);
    enc_free(&e);
    pg_buf_free(&tail);
    return rc;
}
