/* Batching: one batcher thread takes items off the queue and merges those with equal
 * metadata (pg_batch_merge re-indexes each into the group's dictionary); a group becomes a
 * unit for the consumers once it holds min_size samples or flush_timeout after it was
 * opened. max_size caps a unit: a group is flushed before an item would push it over,
 * and an item larger than max_size on its own is split by profiles (a single profile over
 * max_size is sent whole). On shutdown the groups are flushed when the queue is drained. */
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/core/vec.h"
#include "pipeline/exporterhelper/exporterhelper_int.h"
#include "pipeline/telemetry/log.h"

#include <stdlib.h>
#include <string.h>

typedef struct pg_eh_group {
    char *key; /* the metadata, sorted, as "k\0v\0..."; owned */
    size_t keylen;
    pg_batch *acc; /* the merged batch (the first item's batch, extended); owned */
    pg_eh_cover *cover;
    pg_eh_item *tail;
    size_t profiles, samples;
    uint64_t bytes;
    int64_t deadline;
} pg_eh_group;

struct pg_eh_batcher {
    pg_eh_group *g;
    size_t n, cap;
};

pg_eh_batcher *pg_eh_batcher_new(void)
{
    return calloc(1, sizeof(pg_eh_batcher));
}

void pg_eh_batcher_free(pg_eh_batcher *bt)
{
    if (!bt) return;
    for (size_t i = 0; i < bt->n; i++)
        free(bt->g[i].key);
    free(bt->g);
    free(bt);
}

/* The metadata of b as a malloc'd key (keys sorted; they are unique). NULL on OOM. */
static char *meta_key(const pg_batch *b, size_t *len)
{
    size_t n = pg_batch_meta_count(b), total = 1;
    const pg_meta_entry **e = malloc((n ? n : 1) * sizeof *e);
    if (!e) return NULL;
    for (size_t i = 0; i < n; i++) {
        const pg_meta_entry *m = pg_batch_meta_at(b, i);
        size_t j = i;
        for (; j > 0 && strcmp(e[j - 1]->key, m->key) > 0; j--)
            e[j] = e[j - 1];
        e[j] = m;
        total += strlen(m->key) + strlen(m->value) + 2;
    }
    char *k = malloc(total), *p = k;
    for (size_t i = 0; k && i < n; i++) {
        size_t kl = strlen(e[i]->key) + 1, vl = strlen(e[i]->value) + 1;
        memcpy(p, e[i]->key, kl);
        memcpy(p + kl, e[i]->value, vl);
        p += kl + vl;
    }
    free(e);
    *len = k ? (size_t)(p - k) : 0;
    return k;
}

/* Queues a copy of tmp for the consumers (on OOM: finishes it as dropped). */
static void push_unit(pg_exporter_helper *h, pg_eh_unit tmp)
{
    pg_eh_unit *u = malloc(sizeof *u);
    if (!u) {
        pg_log(PG_LOG_ERROR, h->id, "out of memory: %zu profiles not sent", tmp.profiles);
        pg_eh_unit_finish(h, &tmp, PG_EH_DROPPED, false);
        return;
    }
    *u = tmp;
    pg_queue_push(h->ready, &u->link);
}

/* Hands the group to the consumers as one unit and removes it. */
static void flush(pg_exporter_helper *h, pg_eh_batcher *bt, size_t i)
{
    pg_eh_group g = bt->g[i];
    bt->g[i] = bt->g[--bt->n];
    free(g.key);
    push_unit(h, (pg_eh_unit){.b = g.acc,
                              .cover = g.cover,
                              .profiles = g.profiles,
                              .samples = g.samples,
                              .bytes = g.bytes});
}

/* Opens a group holding it (its batch becomes the accumulator); takes key. */
static int open_group(pg_exporter_helper *h, pg_eh_batcher *bt, pg_eh_item *it, char *key,
                      size_t keylen)
{
    int rc = PG_VEC_RESERVE(bt->g, bt->cap, bt->n + 1, 8);
    if (rc) return rc;
    pg_eh_cover *c = pg_eh_cover_new(it);
    if (!c) return PG_ENOMEM;
    bt->g[bt->n++] = (pg_eh_group){.key = key,
                                   .keylen = keylen,
                                   .acc = it->b,
                                   .cover = c,
                                   .tail = it,
                                   .profiles = it->profiles,
                                   .samples = it->samples,
                                   .bytes = it->bytes,
                                   .deadline = pg_now_mono_ns() + h->cfg->batch.flush_timeout};
    it->b = NULL;
    return 0;
}

/* Sends an item over max_size as parts split by profiles, sharing one cover. */
static void split_out(pg_exporter_helper *h, pg_eh_item *it)
{
    pg_eh_cover *c = pg_eh_cover_new(it);
    if (!c) {
        pg_log(PG_LOG_ERROR, h->id, "out of memory: %zu profiles not sent", it->profiles);
        pg_eh_item_leave(h, it);
        return;
    }
    pg_batch **parts = NULL;
    int n = pg_eh_split(it->b, (size_t)h->cfg->batch.max_size, &parts);
    if (n <= 1) {
        /* one profile over max_size, or no memory to split: sent whole */
        for (int i = 0; i < n; i++)
            pg_batch_free(parts[i]);
        free(parts);
        /* once queued, a consumer may finish (free) it: take everything first */
        pg_eh_unit whole = {.b = it->b,
                            .cover = c,
                            .profiles = it->profiles,
                            .samples = it->samples,
                            .bytes = it->bytes};
        it->b = NULL;
        push_unit(h, whole);
        return;
    }
    atomic_store(&c->refs, n);
    uint64_t bytes = it->bytes / (uint64_t)n; /* sent_bytes: the input's size, shared out */
    pg_batch_free(it->b);
    it->b = NULL;
    for (int i = 0; i < n; i++)
        push_unit(h, (pg_eh_unit){.b = parts[i],
                                  .cover = c,
                                  .profiles = pg_batch_profile_count(parts[i]),
                                  .samples = pg_batch_sample_count(parts[i]),
                                  .bytes = bytes});
    free(parts);
}

/* Adds a loaded item to the group of its metadata, flushing per min_size / max_size. */
static void add_item(pg_exporter_helper *h, pg_eh_batcher *bt, pg_eh_item *it)
{
    size_t max = (size_t)h->cfg->batch.max_size, min = (size_t)h->cfg->batch.min_size;
    size_t keylen, gi = SIZE_MAX;
    char *key = meta_key(it->b, &keylen);
    if (!key) {
        pg_log(PG_LOG_ERROR, h->id, "out of memory: %zu profiles not sent", it->profiles);
        pg_eh_item_leave(h, it);
        return;
    }
    for (size_t i = 0; i < bt->n && gi == SIZE_MAX; i++)
        if (bt->g[i].keylen == keylen && !memcmp(bt->g[i].key, key, keylen)) gi = i;
    if (max && it->samples > max) {
        if (gi != SIZE_MAX) flush(h, bt, gi);
        free(key);
        split_out(h, it);
        return;
    }
    if (gi != SIZE_MAX && max && bt->g[gi].samples + it->samples > max) {
        flush(h, bt, gi);
        gi = SIZE_MAX;
    }
    if (gi != SIZE_MAX) {
        pg_eh_group *g = &bt->g[gi];
        pg_otlp_data *d = pg_batch_data(g->acc);
        size_t before = d->n_resource_profiles;
        char msg[256];
        if (pg_batch_merge(g->acc, it->b, msg, sizeof msg)) {
            /* the accumulator is full (arena cap): undo the partial copy, start afresh */
            d->n_resource_profiles = before;
            flush(h, bt, gi);
            gi = SIZE_MAX;
        } else {
            free(key);
            pg_batch_free(it->b);
            it->b = NULL;
            it->link.next = NULL;
            g->tail->link.next = &it->link;
            g->tail = it;
            g->profiles += it->profiles;
            g->samples += it->samples;
            g->bytes += it->bytes;
        }
    }
    if (gi == SIZE_MAX) {
        if (open_group(h, bt, it, key, keylen)) {
            free(key);
            pg_log(PG_LOG_ERROR, h->id, "out of memory: %zu profiles not sent", it->profiles);
            pg_eh_item_leave(h, it);
            return;
        }
        gi = bt->n - 1;
    }
    if (bt->g[gi].samples >= min) flush(h, bt, gi);
}

/* Flushes groups whose deadline passed (all of them when `all`). */
static void flush_due(pg_exporter_helper *h, pg_eh_batcher *bt, bool all)
{
    int64_t now = pg_now_mono_ns();
    for (size_t i = bt->n; i-- > 0;)
        if (all || bt->g[i].deadline <= now) flush(h, bt, i);
}

void *pg_eh_batcher_main(void *arg)
{
    pg_exporter_helper *h = arg;
    pg_eh_batcher *bt = h->batcher;
    for (;;) {
        int64_t until = INT64_MAX;
        for (size_t i = 0; i < bt->n; i++)
            if (bt->g[i].deadline < until) until = bt->g[i].deadline;
        pg_queue_item *qi;
        int st = pg_queue_pop(h->q, until, &qi);
        if (st == PG_QUEUE_STOPPED) break;
        if (st == PG_QUEUE_CLOSED) {
            flush_due(h, bt, true);
            pg_queue_close(h->ready);
            break;
        }
        if (st == PG_QUEUE_ITEM && !pg_eh_item_load(h, (pg_eh_item *)qi))
            add_item(h, bt, (pg_eh_item *)qi);
        flush_due(h, bt, false);
    }
    return NULL;
}

void pg_eh_batcher_leave_all(pg_exporter_helper *h)
{
    pg_eh_batcher *bt = h->batcher;
    while (bt->n) {
        pg_eh_group g = bt->g[--bt->n];
        free(g.key);
        pg_eh_unit tmp = {.b = g.acc,
                          .cover = g.cover,
                          .profiles = g.profiles,
                          .samples = g.samples,
                          .bytes = g.bytes};
        pg_eh_unit_finish(h, &tmp, PG_EH_LEFT, false);
    }
}
