/* The dictionary's attribute table read by hand (pipeline/translate/otlp_decode_attrs.c),
 * checked against protobuf-c's own reading of the same bytes, entry by entry (key, unit and
 * the value's packed bytes), borrowed and handed over (pg_otlp_decode_owned): every scalar
 * value kind with zero, negative and extreme values (string indices in range: the validator
 * refuses others on both paths; references are compared as the strings they name, since
 * the batch may renumber its string table); then the shapes the hand reader leaves
 * to protobuf-c (an array, a key-value list, an unknown field, a field given twice, a
 * string with a NUL, empty bytes, two oneof members, a key or a value given twice), each placed
 * first, in the middle and last among hand-readable entries, so the table keeps its order whichever
 * reader takes it; two dictionaries whose tables concatenate; and a truncated entry, refused. */
#include "otlp_dict_fixture.h"

/* One entry: key_strindex 1 + i % 2, the value body `any` (NULL: no value field), unit 2. */
static void put_entry(pg_buf *dict, size_t i, const pg_buf *any)
{
    pg_buf e = {0};
    pg_wire_put_uint(&e, 1, 1 + i % 2);
    if (any) pg_wire_put_bytes(&e, 2, any->data, any->len);
    pg_wire_put_uint(&e, 3, 2);
    sub(dict, 6, &e);
    pg_buf_free(&e);
}

/* The scalar values the hand reader takes, as AnyValue bodies. */
static size_t scalar_values(pg_buf *v, size_t max)
{
    size_t n = 0;
    static const char *const strings[] = {"", "s", "4bf92f3577b34da6a3ce929d0e0e4736"};
    for (size_t i = 0; i < 3 && n < max; i++, n++)
        pg_wire_put_bytes(&v[n], 1, strings[i], strlen(strings[i]));
    const uint64_t varints[] = {0, 1, 300, (uint64_t)-1, (uint64_t)INT64_MIN};
    for (uint32_t f = 2; f <= 3; f++) /* bool, int */
        for (size_t i = 0; i < 5 && n < max; i++, n++) {
            pg_wire_put_tag(&v[n], f, PG_WT_VARINT);
            pg_wire_put_varint(&v[n], varints[i]);
        }
    for (uint64_t i = 0; i < 3 && n < max; i++, n++) { /* string indices, in range */
        pg_wire_put_tag(&v[n], 8, PG_WT_VARINT);
        pg_wire_put_varint(&v[n], i);
    }
    const uint8_t dbl[8] = {0, 0, 0, 0, 0, 0, 0xf8, 0x3f}; /* 1.5 */
    if (n < max) {
        pg_wire_put_tag(&v[n], 4, PG_WT_I64);
        pg_buf_append(&v[n++], dbl, 8);
    }
    if (n < max) pg_wire_put_bytes(&v[n++], 7, "\x00\x01\x02", 3);
    if (n < max) n++; /* an empty AnyValue: nothing set */
    return n;
}

/* Builds ProfilesData bytes holding one dictionary (strings "", "k", "u"; entry 0 the zero
 * entry, then `n` entries with the given values; NULL in vals = no value field) given as
 * `split` dictionaries (1 or 2) that concatenate. */
static void build(pg_buf *out, const void *ctx, size_t n, int split)
{
    pg_buf *const *vals = ctx;
    pg_buf dict[2] = {{0}, {0}};
    pg_buf_append(&dict[0], "", 0);
    static const char *const strings[] = {"", "k", "u"};
    for (size_t i = 0; i < 3; i++)
        pg_wire_put_bytes(&dict[0], 5, strings[i], strlen(strings[i]));
    pg_buf zero = {0};
    sub(&dict[0], 6, &zero);
    for (size_t i = 0; i < n; i++)
        put_entry(&dict[split == 2 && i >= n / 2], i, vals[i]);
    for (int d = 0; d < split; d++)
        sub(out, 2, &dict[d]);
    pg_buf_free(&dict[0]);
    pg_buf_free(&dict[1]);
}

/* The string at index i of d's table, or "?" out of range. */
static const char *str_at(const pg_otlp_dict *d, int32_t i)
{
    return i >= 0 && (size_t)i < d->n_string_table ? d->string_table[i] : "?";
}

/* Writes entry e of dictionary d into out (emptied first) with its string references
 * resolved, so tables whose strings were renumbered compare equal: key and unit strings,
 * then the value (a string index as the string it names, as the validator resolves it;
 * anything else packed by protobuf-c). */
static void render(const pg_otlp_dict *d, const pg_otlp_attr *e, pg_buf *out)
{
    out->len = 0;
    const char *k = str_at(d, e->key_strindex), *u = str_at(d, e->unit_strindex);
    pg_buf_append(out, k, strlen(k) + 1);
    pg_buf_append(out, u, strlen(u) + 1);
    if (!e->value) return;
    const pg_otlp_any *v = e->value;
    if (v->value_case == PG_ANY_STRINDEX || (v->value_case == PG_ANY_STRING && v->string_value)) {
        const char *sv =
            v->value_case == PG_ANY_STRING ? v->string_value : str_at(d, v->string_value_strindex);
        pg_buf_append(out, "S", 1);
        pg_buf_append(out, sv, strlen(sv) + 1);
        return;
    }
    size_t n = protobuf_c_message_get_packed_size(&v->base);
    pg_buf_append(out, "V", 1);
    if (pg_buf_reserve(out, n + 1)) return;
    out->len += protobuf_c_message_pack(&v->base, out->data + out->len);
}

/* Compares the attribute tables entry by entry. */
static void same_attrs(const pg_otlp_dict *d, const pg_otlp_dict *r, const char *what)
{
    CHECK_MSG(d->n_attribute_table == r->n_attribute_table, "%s: %zu entries, want %zu", what,
              d->n_attribute_table, r->n_attribute_table);
    pg_buf x = {0}, y = {0};
    for (size_t i = 0; i < d->n_attribute_table && i < r->n_attribute_table; i++) {
        render(d, d->attribute_table[i], &x);
        render(r, r->attribute_table[i], &y);
        int same = x.len == y.len && !memcmp(x.data, y.data, x.len);
        CHECK_MSG(same, "%s: entry %zu differs from protobuf-c's", what, i);
    }
    pg_buf_free(&x);
    pg_buf_free(&y);
}

/* Both ways of decoding, one and two dictionaries. */
static void check_all(pg_buf *const *vals, size_t n, const char *what)
{
    fx_check_all(build, vals, n, what, same_attrs);
}

/* AnyValue bodies of the shapes the hand reader leaves to protobuf-c. */
static size_t odd_values(pg_buf *v, size_t max, const char **names)
{
    size_t n = 0;
    pg_buf inner = {0}, kv = {0};
    /* an array of one int */
    pg_wire_put_tag(&inner, 3, PG_WT_VARINT);
    pg_wire_put_varint(&inner, 7);
    pg_buf arr = {0};
    sub(&arr, 1, &inner);
    names[n] = "array";
    sub(&v[n++], 5, &arr);
    /* a key-value list of one entry */
    pg_wire_put_bytes(&kv, 1, "k", 1);
    pg_wire_put_tag(&inner, 2, PG_WT_VARINT);
    pg_wire_put_varint(&inner, 1);
    sub(&kv, 2, &inner);
    pg_buf list = {0};
    sub(&list, 1, &kv);
    names[n] = "key-value list";
    sub(&v[n++], 6, &list);
    names[n] = "unknown field";
    pg_wire_put_bytes(&v[n], 1, "a", 1);
    pg_wire_put_bytes(&v[n++], 15, "zz", 2);
    names[n] = "string given twice";
    pg_wire_put_bytes(&v[n], 1, "a", 1);
    pg_wire_put_bytes(&v[n++], 1, "b", 1);
    names[n] = "two oneof members";
    pg_wire_put_bytes(&v[n], 1, "a", 1);
    pg_wire_put_tag(&v[n], 3, PG_WT_VARINT);
    pg_wire_put_varint(&v[n++], 5);
    names[n] = "string with a NUL";
    pg_wire_put_bytes(&v[n++], 1, "a\0b", 3);
    names[n] = "empty bytes";
    pg_wire_put_bytes(&v[n++], 7, "", 0);
    pg_buf_free(&inner);
    pg_buf_free(&kv);
    pg_buf_free(&arr);
    pg_buf_free(&list);
    (void)max;
    return n;
}

static void test_scalars(void)
{
    pg_buf v[32] = {{0}};
    size_t n = scalar_values(v, 32);
    pg_buf *vals[33];
    for (size_t i = 0; i < n; i++)
        vals[i] = &v[i];
    vals[n] = NULL; /* an entry without a value */
    check_all(vals, n + 1, "scalars");
    for (size_t i = 0; i < 32; i++)
        pg_buf_free(&v[i]);
}

static void test_left_to_protobuf_c(void)
{
    pg_buf s[32] = {{0}}, o[8] = {{0}};
    const char *names[8];
    size_t ns = scalar_values(s, 8), no = odd_values(o, 8, names);
    for (size_t k = 0; k < no; k++)
        for (size_t at = 0; at <= ns; at += ns / 2) { /* first, middle, last */
            pg_buf *vals[40];
            size_t n = 0;
            for (size_t i = 0; i < ns; i++) {
                if (i == at) vals[n++] = &o[k];
                vals[n++] = &s[i];
            }
            if (at == ns) vals[n++] = &o[k];
            char what[96];
            snprintf(what, sizeof what, "%s at %zu", names[k], at);
            check_all(vals, n, what);
        }
    /* a key, then a value, given twice in an entry: built by hand */
    pg_buf in = {0}, dict = {0}, e = {0};
    static const char *const strings[] = {"", "k", "u"};
    for (size_t i = 0; i < 3; i++)
        pg_wire_put_bytes(&dict, 5, strings[i], strlen(strings[i]));
    sub(&dict, 6, &e); /* the zero entry */
    pg_wire_put_uint(&e, 1, 1);
    pg_wire_put_uint(&e, 1, 2);
    sub(&dict, 6, &e);
    sub(&in, 2, &dict);
    fx_same_as_protobuf_c(&in, 0, "key given twice", same_attrs);
    /* the value given twice, a string then an empty message: protobuf-c merges the two,
     * and its merge takes the second one's (unset) oneof */
    in.len = dict.len = 0;
    for (size_t i = 0; i < 3; i++)
        pg_wire_put_bytes(&dict, 5, strings[i], strlen(strings[i]));
    sub(&dict, 6, &e);
    pg_buf any = {0};
    pg_wire_put_bytes(&any, 1, "a", 1);
    sub(&e, 2, &any);
    sub(&e, 2, &any);
    sub(&dict, 6, &e);
    sub(&in, 2, &dict);
    fx_same_as_protobuf_c(&in, 0, "value given twice", same_attrs);
    pg_buf_free(&any);
    pg_buf_free(&in);
    pg_buf_free(&dict);
    pg_buf_free(&e);
    for (size_t i = 0; i < 32; i++)
        pg_buf_free(&s[i]);
    for (size_t i = 0; i < 8; i++)
        pg_buf_free(&o[i]);
}

/* An entry cut short is refused, as protobuf-c refuses it. */
static void test_truncated(void)
{
    pg_buf dict = {0}, in = {0};
    pg_wire_put_tag(&dict, 6, PG_WT_LEN);
    pg_wire_put_varint(&dict, 9);
    pg_buf_append(&dict, "\x08\x01", 2);
    pg_wire_put_tag(&in, 2, PG_WT_LEN);
    pg_wire_put_varint(&in, dict.len);
    pg_buf_append(&in, dict.data, dict.len);
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    CHECK(pg_otlp_decode(b, in.data, in.len, NULL, err, sizeof err) != 0 && err[0]);
    pg_batch_free(b);
    pg_buf_free(&dict);
    pg_buf_free(&in);
}

int main(void)
{
    test_scalars();
    test_left_to_protobuf_c();
    test_truncated();
    TEST_MAIN_END();
}
