/* YAML document → node tree with positions, built from libyaml parser events. Anchors and
 * aliases are resolved by sharing the anchored node (an alias may only name a node that is
 * complete, so cycles are impossible); `<<` merge keys are rejected; a duplicate key is
 * reported and its later pair dropped; one document per file. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"

#include <string.h>
#include <yaml.h>

typedef struct frame {
    pg_cfg_node *node;
    pg_cfg_node *key; /* MAP: key waiting for its value */
    bool drop;        /* MAP: drop the pending pair (duplicate or merge key) */
    const char *anchor;
} frame;

typedef struct anchor {
    const char *name;
    pg_cfg_node *node;
} anchor;

typedef struct builder {
    pg_arena *a;
    const char *file;
    const char *text;
    pg_cfg_diags *d;
    frame stack[PG_CFG_MAX_DEPTH];
    int depth;
    anchor *anchors;
    size_t nanchors, capanchors;
    pg_cfg_node *root;
    int docs;
    int status; /* first fatal status */
} builder;

/* Returns a zeroed node of kind at mark, owned by b->a, or NULL. */
static pg_cfg_node *node_new(builder *b, pg_cfg_node_kind kind, yaml_mark_t mark)
{
    pg_cfg_node *n = pg_arena_calloc(b->a, 1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->pos.file = b->file;
    n->pos.line = (int)mark.line + 1;
    n->pos.column = (int)mark.column + 1;
    n->weight = 1;
    return n;
}

/* Records a fatal error at mark; returns PG_EINVAL. */
static int fatal(builder *b, yaml_mark_t mark, const char *fmt, const char *arg)
{
    pg_cfg_pos pos = {b->file, (int)mark.line + 1, (int)mark.column + 1};
    pg_cfg_diag_add(b->d, PG_CFG_ERROR, &pos, fmt, arg);
    return b->status = PG_EINVAL;
}

/* Remembers `node` under the anchor name (copied into the arena); a redefinition wins. */
static int anchor_set(builder *b, const char *name, pg_cfg_node *node)
{
    if (!name) return 0;
    for (size_t i = 0; i < b->nanchors; i++)
        if (!strcmp(b->anchors[i].name, name)) {
            b->anchors[i].node = node;
            return 0;
        }
    if (PG_VEC_RESERVE_ARENA(b->a, b->anchors, b->capanchors, b->nanchors + 1, 4)) return PG_ENOMEM;
    char *copy = pg_arena_strndup(b->a, name, strlen(name));
    if (!copy) return PG_ENOMEM;
    b->anchors[b->nanchors++] = (anchor){copy, node};
    return 0;
}

/* Attaches a finished node to the open container (or makes it the root). */
static int attach(builder *b, pg_cfg_node *n, yaml_mark_t mark)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    frame *f = &b->stack[b->depth - 1];
    pg_cfg_node *p = f->node;
    if (p->kind == PG_CFG_NODE_SEQ) {
        if (PG_VEC_RESERVE_ARENA(b->a, p->items, p->cap, p->n + 1, 4)) return PG_ENOMEM;
        p->items[p->n++] = n;
    } else if (!f->key) {
        if (n->kind != PG_CFG_NODE_SCALAR) {
            pg_cfg_diag_add(b->d, PG_CFG_ERROR, &n->pos, "mapping keys must be scalars");
            return b->status = PG_EINVAL;
        }
        f->key = n;
        f->drop = false;
        if (!n->quoted && !strcmp(n->str, "<<")) {
            pg_cfg_diag_add(b->d, PG_CFG_ERROR, &n->pos, "YAML merge keys (<<) are not supported");
            f->drop = true;
            return 0;
        }
        pg_cfg_pair *dup = pg_cfg_map_find(p, n->str);
        if (dup) {
            pg_cfg_diag_add(b->d, PG_CFG_ERROR, &n->pos,
                            "duplicate key \"%s\" (first defined at line %d, column %d)", n->str,
                            dup->key->pos.line, dup->key->pos.column);
            f->drop = true;
        }
        return 0;
    } else {
        if (!f->drop) {
            if (PG_VEC_RESERVE_ARENA(b->a, p->pairs, p->cap, p->n + 1, 4)) return PG_ENOMEM;
            p->pairs[p->n++] = (pg_cfg_pair){f->key, n};
        }
        f->key = NULL;
    }
    if (!f->drop || p->kind == PG_CFG_NODE_SEQ) {
        p->weight += n->weight;
        if (p->weight > PG_CFG_MAX_NODES)
            return fatal(b, mark, "document too large (more than %s nodes after aliases)",
                         "1000000");
    }
    return 0;
}

/* Handles a scalar event: a new node, anchored if asked, attached. */
static int on_scalar(builder *b, yaml_event_t *ev)
{
    pg_cfg_node *n = node_new(b, PG_CFG_NODE_SCALAR, ev->start_mark);
    if (!n) return PG_ENOMEM;
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    n->str = pg_arena_strndup(b->a, v, len);
    if (!n->str) return PG_ENOMEM;
    n->len = len;
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    n->null = !n->quoted && (len == 0 || !strcmp(v, "~") || !strcmp(v, "null") ||
                             !strcmp(v, "Null") || !strcmp(v, "NULL"));
    if (strlen(n->str) != len) {
        pg_cfg_diag_add(b->d, PG_CFG_ERROR, &n->pos, "NUL character in a string");
        n->bad = true;
    }
    if (anchor_set(b, (const char *)ev->data.scalar.anchor, n)) return PG_ENOMEM;
    return attach(b, n, ev->start_mark);
}

/* Opens a mapping or sequence. */
static int on_start(builder *b, yaml_event_t *ev, pg_cfg_node_kind kind, const char *anchor_name)
{
    if (b->depth == PG_CFG_MAX_DEPTH)
        return fatal(b, ev->start_mark, "nesting deeper than %s levels", "64");
    pg_cfg_node *n = node_new(b, kind, ev->start_mark);
    if (!n) return PG_ENOMEM;
    char *an = NULL;
    if (anchor_name && !(an = pg_arena_strndup(b->a, anchor_name, strlen(anchor_name))))
        return PG_ENOMEM;
    b->stack[b->depth++] = (frame){n, NULL, false, an};
    return 0;
}

/* Closes the open container: registers its anchor and attaches it. */
static int on_end(builder *b, yaml_event_t *ev)
{
    frame f = b->stack[--b->depth];
    if (anchor_set(b, f.anchor, f.node)) return PG_ENOMEM;
    return attach(b, f.node, ev->start_mark);
}

/* Resolves an alias to the anchored node (shared). */
static int on_alias(builder *b, yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    for (size_t i = b->nanchors; i-- > 0;)
        if (!strcmp(b->anchors[i].name, name)) return attach(b, b->anchors[i].node, ev->start_mark);
    return fatal(b, ev->start_mark, "undefined alias \"%s\"", name);
}

/* Dispatches one event; returns 0 to go on. */
static int on_event(builder *b, yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->docs > 1)
            return fatal(b, ev->start_mark,
                         "more than one YAML document in a file is not supported%s", "");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, PG_CFG_NODE_SEQ, (const char *)ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, PG_CFG_NODE_MAP, (const char *)ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    default:
        return 0;
    }
}

/* Reports libyaml's error with a position: reader errors carry a byte offset only, so the
 * line and column are counted from the text. */
static void syntax_error(builder *b, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        m.line = m.column = 0;
        for (size_t i = 0; i < p->problem_offset && b->text[i]; i++) {
            if (b->text[i] == '\n')
                m.line++, m.column = 0;
            else if (((unsigned char)b->text[i] & 0xC0) != 0x80)
                m.column++;
        }
    }
    pg_cfg_pos pos = {b->file, (int)m.line + 1, (int)m.column + 1};
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context)
        pg_cfg_diag_add(b->d, PG_CFG_ERROR, &pos,
                        "YAML syntax error: %s (%s at line %d, column %d)", problem, p->context,
                        (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        pg_cfg_diag_add(b->d, PG_CFG_ERROR, &pos, "YAML syntax error: %s", problem);
    b->status = PG_EINVAL;
}

/* Parses the text into a tree owned by a (see config_int.h). */
int pg_cfg_doc_parse(pg_arena *a, const char *file, const char *text, size_t len, pg_cfg_diags *d,
                     pg_cfg_node **root)
{
    builder b = {.a = a, .file = file, .text = text, .d = d};
    *root = NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return PG_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int done = 0;
    while (!done && !b.status) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                b.status = PG_ENOMEM;
            else
                syntax_error(&b, &p);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        int rc = on_event(&b, &ev);
        if (rc && !b.status) b.status = rc;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (b.status) return b.status;
    if (!b.root) {
        yaml_mark_t start = {0, 0, 0};
        b.root = node_new(&b, PG_CFG_NODE_SCALAR, start);
        if (!b.root || !(b.root->str = pg_arena_strndup(a, "", 0))) return PG_ENOMEM;
        b.root->null = true;
    }
    *root = b.root;
    return 0;
}

/* Returns a new non-null scalar owned by a holding a copy of s[0..n). */
pg_cfg_node *pg_cfg_node_scalar(pg_arena *a, const pg_cfg_pos *pos, const char *s, size_t n)
{
    pg_cfg_node *node = pg_arena_calloc(a, 1, sizeof *node);
    if (!node || !(node->str = pg_arena_strndup(a, s, n))) return NULL;
    node->kind = PG_CFG_NODE_SCALAR;
    node->pos = *pos;
    node->len = n;
    node->weight = 1;
    return node;
}

/* Linear lookup (mappings in configs are small). Borrows map. */
pg_cfg_pair *pg_cfg_map_find(const pg_cfg_node *map, const char *key)
{
    if (!map || map->kind != PG_CFG_NODE_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->pairs[i].key->str, key)) return &map->pairs[i];
    return NULL;
}

/* NULL or a null scalar. */
bool pg_cfg_node_is_null(const pg_cfg_node *n)
{
    return !n || (n->kind == PG_CFG_NODE_SCALAR && n->null);
}

/* Short human description of a node for "expected X, got Y" messages. */
void pg_cfg_node_describe(const pg_cfg_node *n, char *buf, size_t len)
{
    if (!n || pg_cfg_node_is_null(n))
        snprintf(buf, len, "null");
    else if (n->kind == PG_CFG_NODE_MAP)
        snprintf(buf, len, "a mapping");
    else if (n->kind == PG_CFG_NODE_SEQ)
        snprintf(buf, len, "a list");
    else if (n->len > 40)
        snprintf(buf, len, "\"%.37s...\"", n->str);
    else
        snprintf(buf, len, "\"%s\"", n->str);
}
