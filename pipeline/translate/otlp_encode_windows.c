/* Tables the OTLP encoder writes in windows, each window's room made once and its first
 * half written by a helper thread while the calling thread writes the second. */
#include "pipeline/translate/otlp_encode_int.h"
#include "pipeline/core/err.h"

void pg_otlp_half_run(void *arg)
{
    pg_otlp_half *j = arg;
    j->end = j->fn(j->ctx, j->q, j->lo, j->hi);
}

int pg_otlp_half_join(pg_buf *b, pg_duo *duo, const pg_otlp_half *j, const uint8_t *at)
{
    pg_duo_wait(duo);
    if (j->end == at) return 1;
    b->failed = PG_EINTERNAL;
    return 0;
}

size_t pg_otlp_window_items(size_t per_item)
{
    size_t w = ((size_t)64 << 10) / (per_item ? per_item : 1);
    return w < 64 ? 64 : w;
}

void pg_otlp_put_table(pg_buf *b, const pg_otlp_table *t, pg_duo *duo)
{
    size_t w = pg_otlp_window_items(t->per);
    for (size_t lo = 0; lo < t->n;) {
        size_t hi = t->n - lo < w ? t->n : lo + w, mid = lo + (hi - lo) / 2, half = 0, all = 0;
        for (size_t i = lo; i < hi; i++) {
            if (i == mid) half = all;
            all += t->entry_size(t->ctx, i);
        }
        if (pg_buf_reserve(b, all)) return;
        uint8_t *q = b->data + b->len, *end;
        if (duo && hi - lo >= 64) {
            pg_otlp_half j = {t->write, t->ctx, q, NULL, lo, mid};
            pg_duo_run(duo, pg_otlp_half_run, &j);
            end = t->write(t->ctx, q + half, mid, hi);
            if (!pg_otlp_half_join(b, duo, &j, q + half)) return;
        } else {
            end = t->write(t->ctx, q, lo, hi);
        }
        if (end != q + all) {
            b->failed = PG_EINTERNAL;
            return;
        }
        b->len = (size_t)(end - b->data);
        lo = hi;
    }
}
