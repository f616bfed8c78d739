#include "pipeline/core/dict.h"
#include "pipeline/core/anyvalue.h"
#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/utf8.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

enum { T_STRING, T_FUNCTION, T_MAPPING, T_LOCATION, T_STACK, T_ATTR, T_LINK, T_COUNT };

/* One table's index: the set, how many entries it covers, and the array's capacity. */
typedef struct table_ix {
    pg_index set;
    size_t indexed;
    size_t cap;
    uint8_t width; /* stacks: the pool width the hashes were taken at */
} table_ix;

struct pg_dict_index {
    table_ix t[T_COUNT];
};

/* Releases every table index. */
void pg_dict_index_free(pg_dict_index *ix)
{
    if (!ix) return;
    for (int i = 0; i < T_COUNT; i++)
        pg_index_free(&ix->t[i].set);
    free(ix);
}

/* Appends the zero element of each table; the arena owns them. */
int pg_dict_add_zero_elements(pg_arena *a, pg_otlp_dict *d)
{
#define ZERO(arr, n, ctor)                                                                         \
    do {                                                                                           \
        void *z = ctor(a);                                                                         \
        if (!z || pg_otlp_push(a, (void ***)&d->arr, &d->n, z)) return pg_arena_status(a);         \
    } while (0)
    ZERO(mapping_table, n_mapping_table, pg_otlp_mapping_new);
    ZERO(location_table, n_location_table, pg_otlp_location_new);
    ZERO(function_table, n_function_table, pg_otlp_function_new);
    ZERO(link_table, n_link_table, pg_otlp_link_new);
    ZERO(attribute_table, n_attribute_table, pg_otlp_attr_new);
#undef ZERO
    if (!pg_dict_stack_columns(a, d)) return pg_arena_status(a);
    char *empty = pg_arena_strndup(a, "", 0);
    if (!empty || pg_otlp_push(a, (void ***)&d->string_table, &d->n_string_table, empty))
        return pg_arena_status(a);
    return 0;
}

/* ---- hashing and equality of each element kind (keys are probe structs) ---- */

static uint64_t hash_ints(const int32_t *v, size_t n, uint64_t h)
{
    return pg_hash_bytes(v, n * sizeof *v, h);
}

typedef struct strkey {
    const char *s;
    size_t n;
} strkey;

static uint64_t hash_string(const void *k)
{
    const strkey *s = k;
    return pg_hash_bytes(s->s, s->n, 1);
}

static int eq_string(const void *ctx, const void *k, uint32_t id)
{
    const pg_otlp_dict *d = ctx;
    const strkey *s = k;
    const char *t = d->string_table[id];
    return strncmp(t, s->s, s->n) == 0 && t[s->n] == 0;
}

static uint64_t hash_function(const void *k)
{
    const pg_otlp_function *f = k;
    uint64_t h = pg_hash_mix(2, (uint32_t)f->name_strindex);
    h = pg_hash_mix(h, (uint32_t)f->system_name_strindex);
    h = pg_hash_mix(h, (uint32_t)f->filename_strindex);
    return pg_hash_mix(h, (uint64_t)f->start_line);
}

static int eq_function(const void *ctx, const void *k, uint32_t id)
{
    const pg_otlp_function *a = k, *b = ((const pg_otlp_dict *)ctx)->function_table[id];
    return a->name_strindex == b->name_strindex &&
           a->system_name_strindex == b->system_name_strindex &&
           a->filename_strindex == b->filename_strindex && a->start_line == b->start_line;
}

static uint64_t hash_mapping(const void *k)
{
    const pg_otlp_mapping *m = k;
    uint64_t h = pg_hash_mix(3, m->memory_start);
    h = pg_hash_mix(h, m->memory_limit);
    h = pg_hash_mix(h, m->file_offset);
    h = pg_hash_mix(h, (uint32_t)m->filename_strindex);
    return hash_ints(m->attribute_indices, m->n_attribute_indices, h);
}

static int ints_eq(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static int eq_mapping(const void *ctx, const void *k, uint32_t id)
{
    const pg_otlp_mapping *a = k, *b = ((const pg_otlp_dict *)ctx)->mapping_table[id];
    return a->memory_start == b->memory_start && a->memory_limit == b->memory_limit &&
           a->file_offset == b->file_offset && a->filename_strindex == b->filename_strindex &&
           ints_eq(a->attribute_indices, a->n_attribute_indices, b->attribute_indices,
                   b->n_attribute_indices);
}

static uint64_t hash_location(const void *k)
{
    const pg_otlp_location *l = k;
    uint64_t h = pg_hash_mix(4, (uint32_t)l->mapping_index);
    h = pg_hash_mix(h, l->address);
    for (size_t i = 0; i < l->n_lines; i++) {
        h = pg_hash_mix(h, (uint32_t)l->lines[i]->function_index);
        h = pg_hash_mix(h, (uint64_t)l->lines[i]->line);
        h = pg_hash_mix(h, (uint64_t)l->lines[i]->column);
    }
    return hash_ints(l->attribute_indices, l->n_attribute_indices, h);
}

static int eq_location(const void *ctx, const void *k, uint32_t id)
{
    const pg_otlp_location *a = k, *b = ((const pg_otlp_dict *)ctx)->location_table[id];
    if (a->mapping_index != b->mapping_index || a->address != b->address ||
        a->n_lines != b->n_lines ||
        !ints_eq(a->attribute_indices, a->n_attribute_indices, b->attribute_indices,
                 b->n_attribute_indices))
        return 0;
    for (size_t i = 0; i < a->n_lines; i++) {
        const pg_otlp_line *x = a->lines[i], *y = b->lines[i];
        if (x->function_index != y->function_index || x->line != y->line || x->column != y->column)
            return 0;
    }
    return 1;
}

/* A stack probe: its location indices already at the pool's width. */
typedef struct stackkey {
    const uint8_t *p;
    size_t bytes;
} stackkey;

static uint64_t hash_stack(const void *k)
{
    const stackkey *s = k;
    return pg_hash_bytes(s->p, s->bytes, 5);
}

static int eq_stack(const void *ctx, const void *k, uint32_t id)
{
    const pg_stacks *st = ctx;
    const stackkey *s = k;
    size_t a = (size_t)st->off[id] * st->width, n = (size_t)st->off[id + 1] * st->width - a;
    return n == s->bytes && (n == 0 || memcmp(st->loc + a, s->p, n) == 0);
}

/* The probe for existing stack i of the columns. */
static stackkey stack_key(const pg_stacks *st, size_t i)
{
    size_t a = (size_t)st->off[i] * st->width;
    stackkey k = {st->loc + a, (size_t)st->off[i + 1] * st->width - a};
    return k;
}

static uint64_t hash_attr(const void *k)
{
    const pg_otlp_attr *a = k;
    uint64_t h = pg_hash_mix(6, (uint32_t)a->key_strindex);
    h = pg_hash_mix(h, (uint32_t)a->unit_strindex);
    return pg_any_hash(a->value, h);
}

static int eq_attr(const void *ctx, const void *k, uint32_t id)
{
    const pg_otlp_attr *a = k, *b = ((const pg_otlp_dict *)ctx)->attribute_table[id];
    return a->key_strindex == b->key_strindex && a->unit_strindex == b->unit_strindex &&
           pg_any_equal(a->value, b->value);
}

static uint64_t hash_link(const void *k)
{
    const pg_otlp_link *l = k;
    uint64_t h = pg_hash_bytes(l->trace_id.data, l->trace_id.len, 7);
    return pg_hash_bytes(l->span_id.data, l->span_id.len, h);
}

static int bin_eq(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int eq_link(const void *ctx, const void *k, uint32_t id)
{
    const pg_otlp_link *a = k, *b = ((const pg_otlp_dict *)ctx)->link_table[id];
    return bin_eq(a->trace_id, b->trace_id) && bin_eq(a->span_id, b->span_id);
}

/* ---- generic table access ---- */

typedef struct table_desc {
    size_t off_n, off_arr;
    uint64_t (*hash)(const void *key);
    pg_index_eq eq;
} table_desc;

#define TD(field, h, e)                                                                            \
    {                                                                                              \
        offsetof(pg_otlp_dict, n_##field), offsetof(pg_otlp_dict, field), h, e                     \
    }
static const table_desc tables[T_COUNT] = {
    [T_STRING] = TD(string_table, hash_string, eq_string),
    [T_FUNCTION] = TD(function_table, hash_function, eq_function),
    [T_MAPPING] = TD(mapping_table, hash_mapping, eq_mapping),
    [T_LOCATION] = TD(location_table, hash_location, eq_location),
    [T_STACK] = {0, 0, hash_stack, eq_stack}, /* columns: see stack_index */
    [T_ATTR] = TD(attribute_table, hash_attr, eq_attr),
    [T_LINK] = TD(link_table, hash_link, eq_link),
};

static size_t *tab_n(pg_otlp_dict *d, int t)
{
    return (size_t *)(void *)((char *)d + tables[t].off_n);
}

static void ***tab_arr(pg_otlp_dict *d, int t)
{
    return (void ***)(void *)((char *)d + tables[t].off_arr);
}

/* Hashes an existing element as a probe key (strings need their length). */
static uint64_t hash_existing(pg_otlp_dict *d, int t, size_t i)
{
    void *e = (*tab_arr(d, t))[i];
    if (t == T_STRING) {
        strkey k = {e, strlen(e)};
        return hash_string(&k);
    }
    return tables[t].hash(e);
}

/* Returns the batch's index with table t covering every element (caller borrows). */
static table_ix *index_for(pg_batch *b, int t)
{
    pg_dict_index **pix = pg_batch_dict_index(b);
    if (!*pix && !(*pix = calloc(1, sizeof **pix))) return NULL;
    table_ix *ti = &(*pix)->t[t];
    pg_otlp_dict *d = pg_batch_dict(b);
    size_t n = *tab_n(d, t);
    if (ti->cap < n) ti->cap = n; /* arrays not grown by us are exactly full */
    /* Element 0 of these tables means "none": a real all-zero function, mapping or
     * location (legal in pprof) must get an index of its own, so 0 is never matched. */
    if (ti->indexed == 0 && (t == T_FUNCTION || t == T_MAPPING || t == T_LOCATION) && n > 0)
        ti->indexed = 1;
    for (; ti->indexed < n; ti->indexed++) {
        uint64_t h = hash_existing(d, t, ti->indexed);
        if (pg_index_find(&ti->set, h, tables[t].eq, d, (*tab_arr(d, t))[ti->indexed]) !=
            UINT32_MAX)
            continue; /* a duplicate already in the table: the first one answers */
        if (pg_index_insert(&ti->set, h, (uint32_t)ti->indexed)) return NULL;
    }
    return ti;
}

/* The stack index covering every stack of the columns (rebuilt when the pool widens,
 * since hashes are taken over the pool's bytes). Caller borrows. */
static table_ix *stack_index(pg_batch *b, pg_stacks **cols)
{
    pg_dict_index **pix = pg_batch_dict_index(b);
    if (!*pix && !(*pix = calloc(1, sizeof **pix))) return NULL;
    table_ix *ti = &(*pix)->t[T_STACK];
    pg_stacks *st = pg_dict_stack_columns(pg_batch_arena(b), pg_batch_dict(b));
    if (!st) return NULL;
    if (ti->width != st->width) { /* rebuilt at the room it had, not regrown from empty */
        size_t room = ti->set.cap / 4 * 3;
        pg_index_free(&ti->set);
        ti->indexed = 0;
        ti->width = st->width;
        if (room && pg_index_reserve(&ti->set, room)) return NULL;
    }
    for (; ti->indexed < st->n; ti->indexed++) {
        stackkey k = stack_key(st, ti->indexed);
        uint64_t h = hash_stack(&k);
        if (pg_index_find(&ti->set, h, eq_stack, st, &k) != UINT32_MAX) continue;
        if (pg_index_insert(&ti->set, h, (uint32_t)ti->indexed)) return NULL;
    }
    *cols = st;
    return ti;
}

/* See dict.h. The pool's reservation is memory the arena counts, so it is only made when
 * the arena's room is twice as large; pages it does not fill are never touched. */
int pg_dict_stack_reserve(pg_batch *b, size_t n_more, size_t n_more_locs, uint8_t width,
                          size_t max_bytes)
{
    pg_stacks *st;
    table_ix *ti = stack_index(b, &st);
    if (!ti) return PG_ENOMEM;
    size_t cap = 64; /* the largest table within max_bytes */
    while (cap * 2 * sizeof(uint64_t) <= max_bytes && cap < ((size_t)1 << 32))
        cap *= 2;
    size_t want = ti->set.count + n_more, most = cap / 4 * 3;
    if (pg_index_reserve(&ti->set, want < most ? want : most)) return PG_ENOMEM;
    pg_arena *a = pg_batch_arena(b);
    if (st->n <= 1 && width > st->width) { /* the zero stack only: widened as samples would */
        int rc = pg_stacks_widen(a, st, width);
        if (rc) return rc;
        if (!(ti = stack_index(b, &st))) return PG_ENOMEM;
    }
    size_t locs = st->off[st->n] + n_more_locs, stacks = st->n + n_more;
    if (locs < n_more_locs || locs > UINT32_MAX) return 0; /* offsets are 32 bits */
    size_t bytes = locs * st->width + stacks * sizeof(uint32_t);
    if (pg_arena_room(a) / 2 < bytes) return 0;
    return pg_stacks_presize(a, st, stacks, locs);
}

/* See dict.h. */
int pg_dict_stack_room(const pg_batch *b, size_t n_more, size_t n_more_locs, uint8_t width)
{
    const pg_stacks *st = pg_dict_stacks(pg_batch_dict(b));
    const pg_dict_index *ix = *pg_batch_dict_index((pg_batch *)b);
    if (!st->off || !st->n || st->width < width || !ix || ix->t[T_STACK].width != st->width ||
        ix->t[T_STACK].indexed != st->n)
        return 0;
    size_t used = st->off[st->n];
    if (n_more > st->cap || n_more_locs > st->cap_loc) return 0; /* (and no overflow below) */
    return st->cap >= st->n + n_more + 1 && st->cap_loc >= used + n_more_locs;
}

/* Sizes the string, function and location indexes for the given numbers of elements to
 * come (upper bounds a decoder knows up front), so that they are not rehashed step by step
 * as they fill. Returns 0 or a negative status. */
int pg_dict_reserve(pg_batch *b, size_t strings, size_t functions, size_t locations)
{
    const int t[3] = {T_STRING, T_FUNCTION, T_LOCATION};
    const size_t n[3] = {strings, functions, locations};
    for (int k = 0; k < 3; k++) {
        table_ix *ti = index_for(b, t[k]);
        if (!ti || pg_index_reserve(&ti->set, ti->set.count + n[k])) return PG_ENOMEM;
    }
    return 0;
}

/* Frees three tables' indexes; index_for rebuilds one from element 0 when it is needed. */
void pg_dict_drop_frame_indexes(pg_batch *b)
{
    pg_dict_index *ix = *pg_batch_dict_index(b);
    if (!ix) return;
    const int t[3] = {T_MAPPING, T_FUNCTION, T_LOCATION};
    for (int k = 0; k < 3; k++) {
        pg_index_free(&ix->t[t[k]].set);
        ix->t[t[k]].indexed = 0;
    }
}

/* The stack index a probe `width` bytes wide can be looked up in right away: NULL when the
 * pool is at another width or has no index yet. Borrowed. */
static pg_index *stack_probe_index(pg_batch *b, uint8_t width)
{
    pg_dict_index *ix = *pg_batch_dict_index(b);
    const pg_stacks *st = pg_dict_stacks(pg_batch_dict(b));
    if (!ix || !st || st->width != width || ix->t[T_STACK].width != width) return NULL;
    return &ix->t[T_STACK].set;
}

/* Fetches the index slot pg_dict_stack_w will probe first (when the probe is already at
 * the pool's width; otherwise does nothing, not even hash). */
uint64_t pg_dict_stack_prefetch(pg_batch *b, const void *loc, size_t n, uint8_t width)
{
    pg_index *set = n ? stack_probe_index(b, width) : NULL;
    if (!set) return 0;
    uint64_t h = pg_dict_stack_hash(loc, n, width);
    pg_index_prefetch(set, h);
    return h;
}

/* The hash pg_dict_stack_prefetch returns, from the probe's bytes alone: safe to compute
 * on a thread that does not own the batch. */
uint64_t pg_dict_stack_hash(const void *loc, size_t n, uint8_t width)
{
    stackkey k = {loc, n * width};
    return n ? hash_stack(&k) : 0;
}

/* Fetches the index slot for a hash from pg_dict_stack_hash (probes `width` bytes wide);
 * 0 when the pool is at another width or has no index yet (nothing to fetch). */
int pg_dict_stack_prefetch_hash(pg_batch *b, uint64_t h, uint8_t width)
{
    pg_index *set = h ? stack_probe_index(b, width) : NULL;
    if (!set) return 0;
    pg_index_prefetch(set, h);
    return 1;
}

/* Interns a stack given `width` bytes wide, converting it to the pool's width first. */
int32_t pg_dict_stack_w(pg_batch *b, const void *loc, size_t n, uint8_t width)
{
    return pg_dict_stack_hinted(b, loc, n, width, 0);
}

/* pg_dict_stack_w with the hash pg_dict_stack_prefetch returned (0 = none). */
int32_t pg_dict_stack_hinted(pg_batch *b, const void *loc, size_t n, uint8_t width, uint64_t hint)
{
    if (n == 0) return 0;
    pg_stacks *st;
    table_ix *ti = stack_index(b, &st);
    if (!ti) return PG_ENOMEM;
    pg_arena *a = pg_batch_arena(b);
    pg_stack_ref in = {loc, n, width};
    if (width > st->width) { /* the values may still fit the pool */
        uint8_t need = pg_stack_width_needed(&in, st->width);
        if (need > st->width) {
            int rc = pg_stacks_widen(a, st, need);
            if (rc) return rc;
            if (!(ti = stack_index(b, &st))) return PG_ENOMEM;
        }
    }
    uint8_t tmp[1024];
    uint8_t *probe = (uint8_t *)loc;
    if (width != st->width) {
        probe = n * st->width <= sizeof tmp ? tmp : malloc(n * st->width);
        if (!probe) return PG_ENOMEM;
        for (size_t j = 0; j < n; j++)
            pg_stack_put(probe, j, st->width, pg_stack_loc(&in, j));
    }
    stackkey k = {probe, n * st->width};
    uint64_t h =
        hint && probe == loc ? hint : hash_stack(&k); /* a hint is for the probe as given */
    uint32_t id = pg_index_find(&ti->set, h, eq_stack, st, &k);
    int64_t r = id;
    if (id == UINT32_MAX) {
        r = pg_stacks_append(a, st, probe, n, st->width);
        int rc = r >= 0 ? pg_index_insert(&ti->set, h, (uint32_t)r) : 0;
        if (rc) r = rc;
        if (r >= 0) ti->indexed = st->n;
    }
    if (probe != loc && probe != tmp) free(probe);
    return (int32_t)r;
}

/* Looks key up in table t; on a miss calls make() to build an arena copy and appends it.
 * Returns the element's index or a negative status (PG_ELIMIT past INT32_MAX elements or
 * over the arena's cap, PG_ENOMEM). */
static int32_t intern(pg_batch *b, int t, const void *key, uint64_t h,
                      void *(*make)(pg_arena *, const void *), const void *src)
{
    table_ix *ti = index_for(b, t);
    if (!ti) return PG_ENOMEM;
    pg_otlp_dict *d = pg_batch_dict(b);
    uint32_t id = pg_index_find(&ti->set, h, tables[t].eq, d, key);
    if (id != UINT32_MAX) return (int32_t)id;
    size_t *n = tab_n(d, t);
    if (*n >= INT32_MAX) return PG_ELIMIT;
    pg_arena *a = pg_batch_arena(b);
    int rc = pg_vec_reserve_arena(a, (void **)tab_arr(d, t), &ti->cap, *n + 1, sizeof(void *), 16);
    if (rc) return rc;
    void *e = make(a, src);
    if (!e) return pg_arena_status(a);
    (*tab_arr(d, t))[*n] = e;
    if ((rc = pg_index_insert(&ti->set, h, (uint32_t)*n))) return rc;
    ti->indexed = *n + 1;
    return (int32_t)(*n)++;
}

static void *make_string(pg_arena *a, const void *src)
{
    const strkey *k = src;
    return pg_arena_strndup(a, k->s, k->n);
}

/* Interns s[0..n) (copied into the arena). */
int32_t pg_dict_string(pg_batch *b, const char *s, size_t n)
{
    if (n == 0) return 0;
    if (!pg_utf8_valid(s, n)) { /* interned repaired, so that equal inputs meet again */
        size_t m = pg_utf8_repaired_len(s, n);
        char *r = pg_arena_alloc(pg_batch_arena(b), m);
        if (!r) return PG_ENOMEM;
        pg_utf8_repair(s, n, r);
        pg_utf8_note_repair();
        s = r;
        n = m;
    }
    strkey k = {s, n};
    return intern(b, T_STRING, &k, hash_string(&k), make_string, &k);
}

static void *make_function(pg_arena *a, const void *src)
{
    pg_otlp_function *f = pg_otlp_function_new(a);
    if (f) {
        const pg_otlp_function *s = src;
        f->name_strindex = s->name_strindex;
        f->system_name_strindex = s->system_name_strindex;
        f->filename_strindex = s->filename_strindex;
        f->start_line = s->start_line;
    }
    return f;
}

/* Interns a function by its four fields. */
int32_t pg_dict_function(pg_batch *b, int32_t name, int32_t system_name, int32_t filename,
                         int64_t start_line)
{
    pg_otlp_function f = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT;
    f.name_strindex = name;
    f.system_name_strindex = system_name;
    f.filename_strindex = filename;
    f.start_line = start_line;
    return intern(b, T_FUNCTION, &f, hash_function(&f), make_function, &f);
}

static int32_t *dup_ints(pg_arena *a, const int32_t *v, size_t n)
{
    return n ? pg_arena_memdup(a, v, n * sizeof *v) : NULL;
}

static void *make_mapping(pg_arena *a, const void *src)
{
    const pg_otlp_mapping *s = src;
    pg_otlp_mapping *m = pg_otlp_mapping_new(a);
    if (!m) return NULL;
    m->memory_start = s->memory_start;
    m->memory_limit = s->memory_limit;
    m->file_offset = s->file_offset;
    m->filename_strindex = s->filename_strindex;
    m->n_attribute_indices = s->n_attribute_indices;
    m->attribute_indices = dup_ints(a, s->attribute_indices, s->n_attribute_indices);
    if (s->n_attribute_indices && !m->attribute_indices) return NULL;
    return m;
}

int32_t pg_dict_mapping(pg_batch *b, const pg_otlp_mapping *m)
{
    return intern(b, T_MAPPING, m, hash_mapping(m), make_mapping, m);
}

static void *make_location(pg_arena *a, const void *src)
{
    const pg_otlp_location *s = src;
    pg_otlp_location *l = pg_otlp_location_new(a);
    if (!l) return NULL;
    l->mapping_index = s->mapping_index;
    l->address = s->address;
    l->n_attribute_indices = s->n_attribute_indices;
    l->attribute_indices = dup_ints(a, s->attribute_indices, s->n_attribute_indices);
    if (s->n_attribute_indices && !l->attribute_indices) return NULL;
    if (s->n_lines) {
        pg_otlp_line *lines = pg_otlp_lines_new(a, s->n_lines);
        l->lines = pg_arena_alloc(a, s->n_lines * sizeof *l->lines);
        if (!lines || !l->lines) return NULL;
        for (size_t i = 0; i < s->n_lines; i++) {
            lines[i].function_index = s->lines[i]->function_index;
            lines[i].line = s->lines[i]->line;
            lines[i].column = s->lines[i]->column;
            l->lines[i] = &lines[i];
        }
        l->n_lines = s->n_lines;
    }
    return l;
}

int32_t pg_dict_location(pg_batch *b, const pg_otlp_location *l)
{
    return intern(b, T_LOCATION, l, hash_location(l), make_location, l);
}

/* See dict.h. */
pg_otlp_location *pg_dict_location_build(pg_arena *a, const pg_otlp_location *l, uint64_t *hash)
{
    *hash = hash_location(l);
    return make_location(a, l);
}

/* intern()'s make for a location built ahead: the copy itself. */
static void *take_built(pg_arena *a, const void *src)
{
    (void)a;
    return (void *)(uintptr_t)src;
}

/* See dict.h. */
int32_t pg_dict_location_built(pg_batch *b, pg_otlp_location *l, uint64_t hash)
{
    return intern(b, T_LOCATION, l, hash, take_built, l);
}

/* Interns a stack (leaf first); the empty stack is index 0. */
int32_t pg_dict_stack(pg_batch *b, const int32_t *locations, size_t n)
{
    return pg_dict_stack_w(b, locations, n, 4);
}

static void *make_attr(pg_arena *a, const void *src)
{
    const pg_otlp_attr *s = src;
    pg_otlp_attr *at = pg_otlp_attr_new(a);
    if (!at) return NULL;
    at->key_strindex = s->key_strindex;
    at->unit_strindex = s->unit_strindex;
    if (!(at->value = pg_any_copy(a, s->value))) return NULL;
    return at;
}

/* Interns an attribute (key and unit are string indices; value is copied deeply). */
int32_t pg_dict_attr(pg_batch *b, int32_t key, const pg_otlp_any *value, int32_t unit)
{
    if (!pg_any_utf8_valid(value)) { /* interned repaired, as pg_dict_string does */
        pg_otlp_any *r = pg_any_copy(pg_batch_arena(b), value);
        if (!r || pg_any_utf8_repair(pg_batch_arena(b), r)) return PG_ENOMEM;
        value = r;
    }
    pg_otlp_attr at = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT;
    at.key_strindex = key;
    at.unit_strindex = unit;
    at.value = (pg_otlp_any *)value;
    return intern(b, T_ATTR, &at, hash_attr(&at), make_attr, &at);
}

static void *make_link(pg_arena *a, const void *src)
{
    const pg_otlp_link *s = src;
    pg_otlp_link *l = pg_otlp_link_new(a);
    if (!l) return NULL;
    l->trace_id.len = s->trace_id.len;
    l->trace_id.data = pg_arena_memdup(a, s->trace_id.data, s->trace_id.len);
    l->span_id.len = s->span_id.len;
    l->span_id.data = pg_arena_memdup(a, s->span_id.data, s->span_id.len);
    return (l->trace_id.data && l->span_id.data) ? l : NULL;
}

/* Interns a link by its ids (copied). */
int32_t pg_dict_link(pg_batch *b, const uint8_t *trace_id, size_t trace_len, const uint8_t *span_id,
                     size_t span_len)
{
    pg_otlp_link l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT;
    l.trace_id.data = (uint8_t *)trace_id;
    l.trace_id.len = trace_len;
    l.span_id.data = (uint8_t *)span_id;
    l.span_id.len = span_len;
    return intern(b, T_LINK, &l, hash_link(&l), make_link, &l);
}

int32_t pg_dict_attr_str(pg_batch *b, const char *key, const char *value, size_t value_len)
{
    int32_t k = pg_dict_string(b, key, strlen(key));
    if (k < 0) return k;
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_STRING;
    char tmp[256];
    char *s = value_len < sizeof tmp ? tmp : malloc(value_len + 1);
    if (!s) return PG_ENOMEM;
    memcpy(s, value, value_len);
    s[value_len] = 0;
    v.string_value = s;
    int32_t r = pg_dict_attr(b, k, &v, 0);
    if (s != tmp) free(s);
    return r;
}

int32_t pg_dict_attr_int(pg_batch *b, const char *key, int64_t value, const char *unit)
{
    int32_t k = pg_dict_string(b, key, strlen(key));
    int32_t u = unit ? pg_dict_string(b, unit, strlen(unit)) : 0;
    if (k < 0 || u < 0) return k < 0 ? k : u;
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_INT;
    v.int_value = value;
    return pg_dict_attr(b, k, &v, u);
}

int32_t pg_dict_attr_bool(pg_batch *b, const char *key, int value)
{
    int32_t k = pg_dict_string(b, key, strlen(key));
    if (k < 0) return k;
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_BOOL;
    v.bool_value = value ? 1 : 0;
    return pg_dict_attr(b, k, &v, 0);
}
