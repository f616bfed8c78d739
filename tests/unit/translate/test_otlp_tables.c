/* The dictionary's location, function and string tables read by hand
 * (pipeline/translate/otlp_decode_tables.c), checked against protobuf-c's own reading of the
 * same bytes entry by entry (each entry packed again by protobuf-c, unknown fields
 * included), borrowed and handed over (pg_otlp_decode_owned), in one dictionary and in two
 * that concatenate: hand-readable entries with zero, negative and extreme values, no lines,
 * one and several lines; then the shapes the hand reader leaves to protobuf-c (an unknown
 * field, a field given twice, unpacked attribute indices, packed indices given twice, a
 * Line with an unknown field or a field given twice), placed among hand-readable entries so
 * the tables keep their order whichever reader takes an entry; and truncated entries, refused
 * as protobuf-c refuses them. */
#include "otlp_dict_fixture.h"

/* Appends a varint field, whatever its value (pg_wire_put_uint skips zeros). */
static void put_varint_field(pg_buf *b, uint32_t f, uint64_t v)
{
    pg_wire_put_tag(b, f, PG_WT_VARINT);
    pg_wire_put_varint(b, v);
}

/* A Line body: function_index fn, line, column; `odd` 1 adds an unknown field, 2 gives
 * the line twice. */
static void put_line(pg_buf *loc, uint64_t fn, int64_t line, int64_t column, int odd)
{
    pg_buf l = {0};
    put_varint_field(&l, 1, fn);
    put_varint_field(&l, 2, (uint64_t)line);
    if (column) put_varint_field(&l, 3, (uint64_t)column);
    if (odd == 1) put_varint_field(&l, 9, 5);
    if (odd == 2) put_varint_field(&l, 2, 77);
    sub(loc, 3, &l);
    pg_buf_free(&l);
}

/* The Location bodies: hand-readable ones first, then odd ones, interleaved by the caller. */
enum { N_PLAIN_LOCS = 5, N_ODD_LOCS = 7 };

/* Builds location body k (plain when k < N_PLAIN_LOCS) into b (emptied first). */
static void location_body(pg_buf *b, int k)
{
    b->len = 0;
    switch (k) {
    case 0: /* mapping, address, no lines */
        put_varint_field(b, 1, 1);
        put_varint_field(b, 2, 0x401000);
        break;
    case 1: /* one line, negative line number, extreme address */
        put_varint_field(b, 2, UINT64_MAX);
        put_line(b, 1, -3, 0, 0);
        break;
    case 2: { /* three lines (inlined frames) and packed attribute indices */
        put_varint_field(b, 1, 1);
        put_line(b, 1, 10, 4, 0);
        put_line(b, 2, 20, 0, 0);
        put_line(b, 1, INT64_MAX, INT64_MIN, 0);
        pg_buf ix = {0};
        pg_wire_put_varint(&ix, 2);
        pg_wire_put_varint(&ix, 1);
        sub(b, 4, &ix);
        pg_buf_free(&ix);
        break;
    }
    case 3: /* fields in reverse order, empty packed indices */
        pg_wire_put_bytes(b, 4, "", 0);
        put_line(b, 2, 1, 1, 0);
        put_varint_field(b, 2, 16);
        break;
    case 4: /* empty */
        break;
    case 5: /* an unknown field */
        put_varint_field(b, 2, 0x1000);
        put_varint_field(b, 15, 99);
        break;
    case 6: /* the address given twice: the last one counts */
        put_varint_field(b, 2, 1);
        put_varint_field(b, 2, 2);
        break;
    case 7: /* an unpacked attribute index */
        put_line(b, 1, 5, 0, 0);
        put_varint_field(b, 4, 1);
        break;
    case 8: { /* packed indices in two runs: they concatenate */
        pg_buf ix = {0};
        pg_wire_put_varint(&ix, 1);
        sub(b, 4, &ix);
        pg_wire_put_varint(&ix, 2);
        sub(b, 4, &ix);
        pg_buf_free(&ix);
        break;
    }
    case 9: /* a Line with an unknown field */
        put_line(b, 1, 8, 0, 1);
        break;
    case 10: /* a Line whose line number is given twice */
        put_line(b, 2, 8, 0, 2);
        put_line(b, 1, 9, 0, 0);
        break;
    default: /* the mapping index given twice, lines between */
        put_varint_field(b, 1, 0);
        put_line(b, 2, 3, 0, 0);
        put_varint_field(b, 1, 1);
        break;
    }
}

/* Builds function body k (k < 3 plain, then an unknown field and a name given twice). */
static void function_body(pg_buf *b, int k)
{
    b->len = 0;
    if (k == 0) return; /* the zero entry */
    put_varint_field(b, 1, (uint64_t)(k % 3 + 1));
    if (k == 1) {
        put_varint_field(b, 2, 3);
        put_varint_field(b, 3, 2);
        put_varint_field(b, 4, (uint64_t)-42);
    }
    if (k == 2) put_varint_field(b, 4, INT64_MAX);
    if (k == 3) put_varint_field(b, 6, 1);
    if (k == 4) put_varint_field(b, 1, 2);
}

#define N_FUNCS 5

/* Builds ProfilesData bytes holding one dictionary, given as `split` dictionaries (1 or 2)
 * that concatenate: strings, one mapping, two attribute entries, the functions, and the
 * locations (the zero one first, then `order` of the bodies, n_order of them). */
static void build(pg_buf *out, const void *ctx, size_t n_order, int split)
{
    const int *order = ctx;
    pg_buf dict[2] = {{0}, {0}}, e = {0};
    static const char *const strings[] = {"", "main", "file.go", "sys", "k"};
    for (size_t i = 0; i < 5; i++)
        pg_wire_put_bytes(&dict[0], 5, strings[i], strlen(strings[i]));
    sub(&dict[0], 1, &e); /* mapping 0 */
    put_varint_field(&e, 1, 0x400000);
    put_varint_field(&e, 2, 0x500000);
    sub(&dict[0], 1, &e);
    sub(&dict[0], 6, &e); /* attribute 0, then keys "k" and "sys" */
    put_varint_field(&e, 1, 4);
    sub(&dict[0], 6, &e);
    put_varint_field(&e, 1, 3);
    sub(&dict[0], 6, &e);
    for (int k = 0; k < N_FUNCS; k++) {
        function_body(&e, k);
        sub(&dict[split == 2 && k >= 3], 3, &e);
    }
    sub(&dict[0], 2, &e); /* location 0 */
    for (size_t i = 0; i < n_order; i++) {
        location_body(&e, order[i]);
        sub(&dict[split == 2 && i >= n_order / 2], 2, &e);
    }
    pg_wire_put_bytes(&dict[split - 1], 5, "tail", 4);
    for (int d = 0; d < split; d++)
        sub(out, 2, &dict[d]);
    pg_buf_free(&dict[0]);
    pg_buf_free(&dict[1]);
    pg_buf_free(&e);
}

/* Packs message m into out (emptied first). */
static void pack(const ProtobufCMessage *m, pg_buf *out)
{
    out->len = 0;
    size_t n = protobuf_c_message_get_packed_size(m);
    if (pg_buf_reserve(out, n + 1)) return;
    out->len = protobuf_c_message_pack(m, out->data);
}

/* Compares n entries of two message tables by their packed bytes. */
static void same_entries(void *const *x, void *const *y, size_t n, const char *table,
                         const char *what)
{
    pg_buf a = {0}, b = {0};
    for (size_t i = 0; i < n; i++) {
        pack(x[i], &a);
        pack(y[i], &b);
        int same = a.len == b.len && !memcmp(a.data, b.data, a.len);
        CHECK_MSG(same, "%s: %s entry %zu differs from protobuf-c's", what, table, i);
    }
    pg_buf_free(&a);
    pg_buf_free(&b);
}

/* Compares the location, function and string tables entry by entry. */
static void same_tables(const pg_otlp_dict *d, const pg_otlp_dict *r, const char *what)
{
    CHECK_MSG(
        d->n_location_table == r->n_location_table && d->n_function_table == r->n_function_table &&
            d->n_string_table == r->n_string_table,
        "%s: %zu/%zu/%zu entries, want %zu/%zu/%zu", what, d->n_location_table, d->n_function_table,
        d->n_string_table, r->n_location_table, r->n_function_table, r->n_string_table);
    if (d->n_location_table == r->n_location_table)
        same_entries((void *const *)d->location_table, (void *const *)r->location_table,
                     d->n_location_table, "location", what);
    if (d->n_function_table == r->n_function_table)
        same_entries((void *const *)d->function_table, (void *const *)r->function_table,
                     d->n_function_table, "function", what);
    for (size_t i = 0; i < d->n_string_table && i < r->n_string_table; i++)
        CHECK_MSG(!strcmp(d->string_table[i], r->string_table[i]), "%s: string %zu", what, i);
}

/* Both ways of decoding, one and two dictionaries. */
static void check_all(const int *order, size_t n, const char *what)
{
    fx_check_all(build, order, n, what, same_tables);
}

/* Every plain body, then every odd one first, in the middle and last among them. */
static void test_tables(void)
{
    int order[N_PLAIN_LOCS];
    for (int k = 0; k < N_PLAIN_LOCS; k++)
        order[k] = k;
    check_all(order, N_PLAIN_LOCS, "hand-readable entries");
    static const int ats[] = {0, N_PLAIN_LOCS / 2, N_PLAIN_LOCS};
    for (int odd = N_PLAIN_LOCS; odd < N_PLAIN_LOCS + N_ODD_LOCS; odd++)
        for (size_t t = 0; t < sizeof ats / sizeof *ats; t++) {
            int at = ats[t], o[N_PLAIN_LOCS + 1];
            for (int k = 0, j = 0; k <= N_PLAIN_LOCS; k++)
                o[k] = k == at ? odd : j++;
            char what[64];
            snprintf(what, sizeof what, "odd location %d at %d", odd, at);
            check_all(o, N_PLAIN_LOCS + 1, what);
        }
}

/* A location or function entry cut short is refused, as protobuf-c refuses it. */
static void test_truncated(void)
{
    for (uint32_t table = 2; table <= 3; table++) {
        pg_buf in = {0}, dict = {0}, e = {0};
        pg_wire_put_bytes(&dict, 5, "", 0);
        if (table == 2) put_line(&e, 0, 1, 0, 0);
        pg_wire_put_tag(&e, 2, PG_WT_VARINT);
        pg_buf_append(&e, "\xff\xff", 2); /* a varint that never ends */
        sub(&dict, table, &e);
        sub(&in, 2, &dict);
        void *ref = protobuf_c_message_unpack(&PG_OTLP_DESC(profiles_data), NULL, in.len, in.data);
        CHECK(ref == NULL);
        pg_batch *b = pg_batch_new(0);
        char err[256] = "";
        CHECK_MSG(pg_otlp_decode(b, in.data, in.len, NULL, err, sizeof err) != 0,
                  "a truncated %s entry is accepted", table == 2 ? "location" : "function");
        pg_batch_free(b);
        pg_buf_free(&in);
        pg_buf_free(&dict);
        pg_buf_free(&e);
    }
}

int main(void)
{
    test_tables();
    test_truncated();
    TEST_MAIN_END();
}
