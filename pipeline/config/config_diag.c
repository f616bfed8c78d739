/* Diagnostics: errors and warnings with positions, kept apart, sorted by file (load order),
 * line, column; plus the "did you mean" and list-joining helpers used in messages. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

typedef struct item {
    pg_cfg_diag pub;
    size_t file_idx; /* order of the file; SIZE_MAX for none */
    size_t seq;      /* insertion order, for a stable sort */
} item;

typedef struct list {
    item *v;
    size_t n, cap;
} list;

struct pg_cfg_diags {
    list lists[2]; /* by pg_cfg_severity */
    char **files;  /* registered file names (owned), in load order */
    size_t nfiles, capfiles;
    size_t seq;
    bool oom;
};

/* Returns an empty list owned by the caller. */
pg_cfg_diags *pg_cfg_diags_new(void)
{
    return calloc(1, sizeof(pg_cfg_diags));
}

/* Frees every message of every item; keeps the registered files. */
static void clear_items(pg_cfg_diags *d)
{
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < d->lists[s].n; i++) {
            free((char *)d->lists[s].v[i].pub.text);
        }
        d->lists[s].n = 0;
    }
}

/* Empties the list (messages and files). */
void pg_cfg_diags_clear(pg_cfg_diags *d)
{
    if (!d) return;
    clear_items(d);
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i]);
    d->nfiles = 0;
    d->oom = false;
}

/* Frees everything d owns, then d. */
void pg_cfg_diags_free(pg_cfg_diags *d)
{
    if (!d) return;
    pg_cfg_diags_clear(d);
    free(d->lists[0].v);
    free(d->lists[1].v);
    free(d->files);
    free(d);
}

/* Returns the index of file, registering a copy when new; SIZE_MAX when out of memory. */
static size_t file_index(pg_cfg_diags *d, const char *file)
{
    for (size_t i = 0; i < d->nfiles; i++)
        if (!strcmp(d->files[i], file)) return i;
    if (PG_VEC_RESERVE(d->files, d->capfiles, d->nfiles + 1, 4)) return SIZE_MAX;
    char *copy = strdup(file);
    if (!copy) return SIZE_MAX;
    d->files[d->nfiles] = copy;
    return d->nfiles++;
}

/* Registers file so that its diagnostics sort in load order. */
void pg_cfg_diags_add_file(pg_cfg_diags *d, const char *file)
{
    if (file_index(d, file) == SIZE_MAX) d->oom = true;
}

/* Formats the message and the full text into one allocation owned by the item. */
void pg_cfg_diag_vadd(pg_cfg_diags *d, pg_cfg_severity s, const pg_cfg_pos *pos, const char *fmt,
                      va_list ap)
{
    char msg[1024], head[512] = "";
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t fi = SIZE_MAX;
    const char *file = pos ? pos->file : NULL;
    if (file) {
        fi = file_index(d, file);
        if (fi == SIZE_MAX) goto oom;
        file = d->files[fi];
        if (pos->line > 0)
            snprintf(head, sizeof head, "%s:%d:%d: ", file, pos->line, pos->column);
        else
            snprintf(head, sizeof head, "%s: ", file);
    }
    const char *tag = s == PG_CFG_WARNING ? "warning: " : "";
    size_t hl = strlen(head), tl = strlen(tag), ml = strlen(msg);
    char *text = malloc(hl + tl + ml + 1);
    if (!text) goto oom;
    memcpy(text, head, hl);
    memcpy(text + hl, tag, tl);
    memcpy(text + hl + tl, msg, ml + 1);
    list *l = &d->lists[s];
    if (PG_VEC_RESERVE(l->v, l->cap, l->n + 1, 16)) {
        free(text);
        goto oom;
    }
    item *it = &l->v[l->n++];
    it->pub.severity = s;
    it->pub.file = file;
    it->pub.line = pos && file ? pos->line : 0;
    it->pub.column = pos && file ? pos->column : 0;
    it->pub.text = text;
    it->pub.message = text + hl + tl;
    it->file_idx = fi;
    it->seq = d->seq++;
    return;
oom:
    d->oom = true;
}

/* printf-style front end of pg_cfg_diag_vadd. */
void pg_cfg_diag_add(pg_cfg_diags *d, pg_cfg_severity s, const pg_cfg_pos *pos, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    pg_cfg_diag_vadd(d, s, pos, fmt, ap);
    va_end(ap);
}

/* Orders by file (unfiled first), line, column, then insertion. */
static int cmp_item(const void *pa, const void *pb)
{
    const item *a = pa, *b = pb;
    size_t fa = a->file_idx == SIZE_MAX ? 0 : a->file_idx + 1;
    size_t fb = b->file_idx == SIZE_MAX ? 0 : b->file_idx + 1;
    if (fa != fb) return fa < fb ? -1 : 1;
    if (a->pub.line != b->pub.line) return a->pub.line < b->pub.line ? -1 : 1;
    if (a->pub.column != b->pub.column) return a->pub.column < b->pub.column ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorts both lists in place. */
void pg_cfg_diags_sort(pg_cfg_diags *d)
{
    for (int s = 0; s < 2; s++)
        if (d->lists[s].n > 1) qsort(d->lists[s].v, d->lists[s].n, sizeof(item), cmp_item);
}

bool pg_cfg_diags_oom(const pg_cfg_diags *d)
{
    return d->oom;
}

size_t pg_cfg_diags_count(const pg_cfg_diags *d, pg_cfg_severity s)
{
    return d && (s == PG_CFG_ERROR || s == PG_CFG_WARNING) ? d->lists[s].n : 0;
}

/* Borrowed view of the i-th item, or NULL. */
const pg_cfg_diag *pg_cfg_diags_get(const pg_cfg_diags *d, pg_cfg_severity s, size_t i)
{
    if (i >= pg_cfg_diags_count(d, s)) return NULL;
    return &d->lists[s].v[i].pub;
}

/* Writes one line per item to f; returns the count. */
size_t pg_cfg_diags_write(const pg_cfg_diags *d, pg_cfg_severity s, FILE *f)
{
    size_t n = pg_cfg_diags_count(d, s);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", d->lists[s].v[i].pub.text);
    return n;
}

/* Levenshtein distance, capped: strings longer than 63 bytes count as far apart. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The nearest candidate within distance 2 (and shorter than word), or NULL. */
const char *pg_cfg_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bd = 3, wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t dist = distance(word, cands[i]);
        if (dist < bd && dist < wl) {
            bd = dist;
            best = cands[i];
        }
    }
    return best;
}

/* Appends "a, b, c" to buf, ending with "..." when it does not fit. */
void pg_cfg_join(char *buf, size_t len, const char *const *cands, size_t n)
{
    size_t used = strlen(buf);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", cands[i]);
        if (w < 0 || (size_t)w >= len - used) {
            if (len > 4) memcpy(buf + len - 4, "...", 4);
            return;
        }
        used += (size_t)w;
    }
}
