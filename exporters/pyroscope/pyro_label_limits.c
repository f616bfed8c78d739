/* Pyroscope's limits on series labels (its ValidateLabels refuses a whole profile whose
 * label name or value is longer than max_label_name_length / max_label_value_length bytes,
 * or whose series has more than max_label_names_per_series labels): names and values over
 * them are cut at a UTF-8 character boundary and surplus labels dropped, so that the
 * profile is kept (see pyroscope_int.h). */
#include "exporters/pyroscope/pyroscope_int.h"

#include <stdlib.h>
#include <string.h>

/* See pyroscope_int.h. A UTF-8 continuation byte (10xxxxxx) never starts a character:
 * the cut moves back over at most three of them; bytes that are not UTF-8 are cut as
 * they are. */
size_t pyro_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t cut = max;
    for (int back = 0; back < 3 && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80; back++)
        cut--;
    return ((unsigned char)s[cut] & 0xc0) == 0x80 ? max : cut;
}

/* Cuts the NUL-terminated *str to at most max bytes in place. Returns 1 when it was cut. */
static int cut_in_place(char *str, int64_t max)
{
    size_t len = strlen(str);
    if (max <= 0 || len <= (size_t)max) return 0;
    str[pyro_utf8_cut(str, len, (size_t)max)] = '\0';
    return 1;
}

/* How much a label is worth keeping: 0 Pyroscope needs it (the series' name and service,
 * its own `__` labels), 1 the user set it (an `external_labels` name, or one cut from such
 * a name), 2 it came with the profile (a resource attribute). */
static int label_rank(const char *name, const pg_cfg_strmap *external)
{
    if (strncmp(name, "__", 2) == 0 || strcmp(name, "service_name") == 0) return 0;
    size_t len = strlen(name);
    for (size_t i = 0; len && external && i < external->n; i++)
        if (strncmp(external->keys[i], name, len) == 0) return 1;
    return 2;
}

/* Drops labels of s until at most max remain: those of rank 2, then of rank 1, each from
 * the last on; rank 0 ones always stay (even if they alone are more). Counted in cnt. */
static void drop_surplus(pyro_series *s, int64_t max, const pg_cfg_strmap *external,
                         pyro_limit_counts *cnt)
{
    if (max <= 0 || s->n_labels <= (size_t)max) return;
    size_t of_rank[3] = {0, 0, 0};
    for (size_t i = 0; i < s->n_labels; i++)
        of_rank[label_rank(s->labels[i].name, external)]++;
    /* room left for ranks 1 and 2, the better rank served first */
    size_t room = (size_t)max > of_rank[0] ? (size_t)max - of_rank[0] : 0;
    size_t keep[3] = {of_rank[0], of_rank[1] < room ? of_rank[1] : room, 0};
    keep[2] = room - keep[1] < of_rank[2] ? room - keep[1] : of_rank[2];
    size_t out = 0;
    for (size_t i = 0; i < s->n_labels; i++) {
        pyro_label *lb = &s->labels[i];
        int r = label_rank(lb->name, external);
        if (!keep[r]) {
            free(lb->name);
            free(lb->value);
            cnt->surplus_labels++;
            continue;
        }
        keep[r]--;
        s->labels[out++] = *lb;
    }
    s->n_labels = out;
}

/* See pyroscope_int.h. The series' spy pointer is looked up again, as a dropped label may
 * have held it. */
void pyro_labels_fit(pyro_series *s, const pyro_limits *l, const pg_cfg_strmap *external,
                     pyro_limit_counts *cnt)
{
    size_t out = 0;
    for (size_t i = 0; i < s->n_labels; i++) {
        pyro_label *lb = &s->labels[i];
        int name_cut = cut_in_place(lb->name, l->max_label_name);
        cnt->cut_labels +=
            (uint64_t)name_cut + (uint64_t)cut_in_place(lb->value, l->max_label_value);
        int dup = 0;
        for (size_t k = 0; k < out && !dup; k++) /* only a cut name can repeat one */
            dup = strcmp(s->labels[k].name, lb->name) == 0;
        if (dup) {
            free(lb->name);
            free(lb->value);
            cnt->dropped_labels++;
            continue;
        }
        s->labels[out++] = *lb;
    }
    s->n_labels = out;
    drop_surplus(s, l->max_label_names, external, cnt);
    s->spy = pyro_series_label(s, PYRO_ATTR_SPY);
}
