/* ${env:VAR} expansion in scalar values.
 *
 *   ${env:VAR}            value of VAR; unset → "" and a warning (the Collector's behaviour)
 *   ${env:VAR:-default}   value of VAR; unset → default (an empty VAR stays empty, as in the
 *                         Collector; the default ends at the first '}')
 *   ${VAR}, ${VAR:-d}     legacy Collector form, same as env:
 *   $$                    a literal '$' ($${env:X} gives the text ${env:X})
 *   a lone '$'            itself
 *
 * Other providers (${file:...}, ${http:...}) are errors. Keys are never expanded. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    char *p;
    size_t n, cap;
} out;

/* Appends s[0..n) to o (malloc-owned); returns 0 or PG_ENOMEM. */
static int put(out *o, const char *s, size_t n)
{
    if (n > SIZE_MAX - o->n - 1 || PG_VEC_RESERVE(o->p, o->cap, o->n + n + 1, 64)) return PG_ENOMEM;
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = 0;
    return 0;
}

/* True when s[0..n) is an environment variable name. */
static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

/* Resolves the reference inside "${...}" (ref[0..n)) into o. Problems are reported at the
 * scalar's position; returns 0, PG_EINVAL (reported) or PG_ENOMEM. */
static int resolve(const char *ref, size_t n, pg_cfg_node *node, pg_cfg_diags *d, out *o)
{
    const char *body = ref;
    size_t bn = n;
    const char *colon = memchr(ref, ':', n);
    if (colon && !(colon + 1 < ref + n && colon[1] == '-')) {
        size_t sl = (size_t)(colon - ref);
        if (sl != 3 || memcmp(ref, "env", 3)) {
            pg_cfg_diag_add(d, PG_CFG_ERROR, &node->pos,
                            "unsupported config provider \"%.*s\" in \"${%.*s}\" (only env "
                            "is supported)",
                            (int)sl, ref, (int)n, ref);
            return PG_EINVAL;
        }
        body = colon + 1;
        bn = n - sl - 1;
    }
    size_t vn = bn;
    const char *def = NULL;
    for (size_t i = 0; i + 1 < bn; i++)
        if (body[i] == ':' && body[i + 1] == '-') {
            vn = i;
            def = body + i + 2;
            break;
        }
    if (!valid_name(body, vn)) {
        pg_cfg_diag_add(d, PG_CFG_ERROR, &node->pos,
                        "invalid environment variable name \"%.*s\" in \"${%.*s}\"", (int)vn, body,
                        (int)n, ref);
        return PG_EINVAL;
    }
    char name[256];
    if (vn >= sizeof name) {
        pg_cfg_diag_add(d, PG_CFG_ERROR, &node->pos, "environment variable name too long");
        return PG_EINVAL;
    }
    memcpy(name, body, vn);
    name[vn] = 0;
    const char *val = getenv(name);
    if (val) return put(o, val, strlen(val));
    if (def) return put(o, def, (size_t)(body + bn - def));
    pg_cfg_diag_add(d, PG_CFG_WARNING, &node->pos,
                    "environment variable \"%s\" is not set; it expands to an empty string", name);
    return 0;
}

/* Expands one scalar in place (text replaced by an arena copy). */
static int expand_scalar(pg_arena *a, pg_cfg_node *node, pg_cfg_diags *d)
{
    if (node->expanded || node->bad) return 0;
    node->expanded = true;
    if (!memchr(node->str, '$', node->len)) return 0;
    out o = {0};
    const char *s = node->str;
    size_t i = 0, n = node->len;
    int rc = 0;
    while (i < n && !rc) {
        const char *dollar = memchr(s + i, '$', n - i);
        size_t j = dollar ? (size_t)(dollar - s) : n;
        if ((rc = put(&o, s + i, j - i))) break;
        if (j == n) break;
        if (j + 1 < n && s[j + 1] == '$') {
            rc = put(&o, "$", 1);
            i = j + 2;
        } else if (j + 1 < n && s[j + 1] == '{') {
            const char *close = memchr(s + j + 2, '}', n - j - 2);
            if (!close) {
                pg_cfg_diag_add(d, PG_CFG_ERROR, &node->pos,
                                "unterminated \"${\" in \"%s\" (write $$ for a literal $)", s);
                rc = PG_EINVAL;
                break;
            }
            rc = resolve(s + j + 2, (size_t)(close - s - j - 2), node, d, &o);
            i = (size_t)(close - s) + 1;
        } else {
            rc = put(&o, "$", 1);
            i = j + 1;
        }
    }
    if (!rc) {
        char *copy = pg_arena_strndup(a, o.p ? o.p : "", o.n);
        if (!copy)
            rc = PG_ENOMEM;
        else {
            node->str = copy;
            node->len = o.n;
            node->null = false; /* an expanded value is a string, even when empty */
        }
    }
    free(o.p);
    if (rc == PG_EINVAL) {
        node->bad = true; /* reported: no second error when decoding it */
        rc = 0;
    }
    return rc;
}

/* Walks the tree and expands every scalar that is a value or a list item. */
int pg_cfg_env_expand(pg_arena *a, pg_cfg_node *root, pg_cfg_diags *d)
{
    if (!root) return 0;
    switch (root->kind) {
    case PG_CFG_NODE_SCALAR:
        return expand_scalar(a, root, d);
    case PG_CFG_NODE_SEQ:
        for (size_t i = 0; i < root->n; i++) {
            int rc = pg_cfg_env_expand(a, root->items[i], d);
            if (rc) return rc;
        }
        return 0;
    case PG_CFG_NODE_MAP:
        for (size_t i = 0; i < root->n; i++) {
            int rc = pg_cfg_env_expand(a, root->pairs[i].value, d);
            if (rc) return rc;
        }
        return 0;
    }
    return 0;
}
